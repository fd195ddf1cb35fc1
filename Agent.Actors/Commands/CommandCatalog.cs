using Agent.Actors.Settings;
using Agent.Actors.State;
using Akka.Actor;

namespace Agent.Actors.Commands;

/// <summary>What a command family actor may depend on; handed to every family's Props factory.</summary>
public sealed record CommandContext(AgentSettings Settings, IActorRef Reaper)
{
    /// <summary>The frozen state shared with the host's log sink and signal handler; set by the fsfreeze family.</summary>
    public FreezeState Freeze { get; init; } = new();

    /// <summary>The audit trail (<see cref="Audit.AuditActor"/>); Nobody when a test builds a family alone.</summary>
    public IActorRef Audit { get; init; } = ActorRefs.Nobody;
}

/// <summary>A long-lived actor that owns a set of commands.</summary>
public sealed record CommandFamily(string Name, IReadOnlyList<string> Commands, Func<CommandContext, Props> Props);

/// <summary>
/// The one place where command families are registered. The order here does not matter:
/// guest-info lists commands in reverse schema order whatever the registration order.
/// </summary>
public static class CommandCatalog
{
    public static IReadOnlyList<CommandFamily> Families { get; } =
    [
        Info.InfoActor.Family,
        Files.FileHandlesActor.Family,
        Exec.ExecActor.Family,
        Power.PowerActor.Family,
        Identity.IdentityActor.Family,
        Users.UsersActor.Family,
        Network.NetworkActor.Family,
        Storage.FilesystemsActor.Family,
        Storage.DisksActor.Family,
        Hardware.HardwareActor.Family,
        Freeze.FreezeActor.Family,
        Freeze.FstrimActor.Family,
        Time.SetTimeActor.Family,
        Hotplug.HotplugActor.Family,
        Accounts.PasswordActor.Family,
        Ssh.AuthorizedKeysActor.Family,
    ];
}
