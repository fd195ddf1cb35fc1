using Agent.Actors.Settings;
using Agent.Actors.State;

namespace Agent.Actors.Commands;

/// <summary>What a command family actor may depend on; handed to every family's Props factory.</summary>
public sealed record CommandContext(AgentSettings Settings, IActorRef Reaper)
{
    /// <summary>
    /// The frozen state: its one owner is the fsfreeze family; the dispatcher's policy, guest-info, the
    /// host's log sink and signal handler read it.
    /// </summary>
    public FreezeState Freeze { get; init; } = new();

    /// <summary>The registered commands in schema order (guest-info's list).</summary>
    public IReadOnlyList<CommandSchema> Registered { get; init; } = [];

    public CommandPolicy Policy => CommandPolicy.Create(Settings.Rpc.Allow, Settings.Rpc.Block);

    /// <summary>The audit trail (<see cref="Audit.AuditActor"/>); Nobody when a test builds a family alone.</summary>
    public IActorRef Audit { get; init; } = ActorRefs.Nobody;

    /// <summary>How agent.policy resolves a path (<see cref="Agent.Actors.Policy.RealPath.Resolve"/>); a spec may make it hang.</summary>
    public Func<string, string, string> ResolvePath { get; init; } = Agent.Actors.Policy.RealPath.Resolve;
}

/// <summary>
/// A long-lived actor that owns a set of commands, created by the dispatcher when its first command
/// arrives. Declared with <c>Of</c>, whose type arguments are the commands' records, so a family never
/// spells a command's name; its actor registers a handler for each of the same records (a spec holds
/// every family in <see cref="CommandCatalog"/> to that).
/// </summary>
public sealed record CommandFamily(string Name, IReadOnlyList<string> Commands, Func<CommandContext, Props> Props)
{
    public static CommandFamily Of<T1>(string name, Func<CommandContext, Props> props)
        where T1 : ICommandArguments<T1> => new(name, [T1.Command], props);

    public static CommandFamily Of<T1, T2>(string name, Func<CommandContext, Props> props)
        where T1 : ICommandArguments<T1> where T2 : ICommandArguments<T2> => new(name, [T1.Command, T2.Command], props);

    public static CommandFamily Of<T1, T2, T3>(string name, Func<CommandContext, Props> props)
        where T1 : ICommandArguments<T1> where T2 : ICommandArguments<T2> where T3 : ICommandArguments<T3> =>
        new(name, [T1.Command, T2.Command, T3.Command], props);

    public static CommandFamily Of<T1, T2, T3, T4>(string name, Func<CommandContext, Props> props)
        where T1 : ICommandArguments<T1> where T2 : ICommandArguments<T2> where T3 : ICommandArguments<T3>
        where T4 : ICommandArguments<T4> => new(name, [T1.Command, T2.Command, T3.Command, T4.Command], props);

    public static CommandFamily Of<T1, T2, T3, T4, T5>(string name, Func<CommandContext, Props> props)
        where T1 : ICommandArguments<T1> where T2 : ICommandArguments<T2> where T3 : ICommandArguments<T3>
        where T4 : ICommandArguments<T4> where T5 : ICommandArguments<T5> =>
        new(name, [T1.Command, T2.Command, T3.Command, T4.Command, T5.Command], props);

    public static CommandFamily Of<T1, T2, T3, T4, T5, T6>(string name, Func<CommandContext, Props> props)
        where T1 : ICommandArguments<T1> where T2 : ICommandArguments<T2> where T3 : ICommandArguments<T3>
        where T4 : ICommandArguments<T4> where T5 : ICommandArguments<T5> where T6 : ICommandArguments<T6> =>
        new(name, [T1.Command, T2.Command, T3.Command, T4.Command, T5.Command, T6.Command], props);

    /// <summary>True when the family has work of its own from the start (fsfreeze's auto-thaw of a freeze that survived a restart).</summary>
    public Func<CommandContext, bool> CreateAtStart { get; init; } = _ => false;
}

/// <summary>
/// The one place where command families are registered. The order here does not matter:
/// guest-info lists commands in reverse schema order whatever the registration order.
/// </summary>
public static class CommandCatalog
{
    public static IReadOnlyList<CommandFamily> Families { get; } =
    [
        Control.InfoActor.Family,
        Power.PowerActor.Family,
        Files.FileHandlesActor.Family,
        Exec.ExecActor.Family,
        Freeze.FreezeActor.Family,
        Freeze.FstrimActor.Family,
        CpuMemory.HardwareActor.Family,
        CpuMemory.HotplugActor.Family,
        Network.NetworkActor.Family,
        Storage.FilesystemsActor.Family,
        Storage.DisksActor.Family,
        Users.UsersActor.Family,
        Users.PasswordActor.Family,
        Users.AuthorizedKeysActor.Family,
        Time.GetTimeActor.Family,
        Time.SetTimeActor.Family,
        System.IdentityActor.Family,
        System.LoadActor.Family,
    ];
}
