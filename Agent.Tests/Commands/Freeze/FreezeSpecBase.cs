using Agent.Actors.Commands;
using Agent.Actors.Commands.Freeze;
using Agent.Actors.Platform;
using Agent.Actors.Processes;
using Agent.Actors.State;
using Agent.Protocol.Json;
using Agent.Tests.Fakes;
using Agent.Tests.Commands;
using Agent.Tests.Commands.Power;
using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Xunit.Abstractions;

namespace Agent.Tests.Commands.Freeze;

/// <summary>
/// The fsfreeze family over a fake guest (procfs mountinfo, state dir, hook scripts in a temp folder)
/// and <see cref="FakeFilesystems"/> in place of the ioctls, under virtual time.
/// </summary>
public abstract class FreezeSpecBase : FamilySpec
{
    /// <summary>Mount order; HEAD drops the bind mount of 254:3 and everything with major 0.</summary>
    protected const string MountInfo = """
        22 1 254:1 / / rw,relatime - ext4 /dev/vda1 rw
        23 22 254:2 / /boot rw,relatime - ext4 /dev/vda2 rw
        24 22 0:21 / /proc rw,nosuid - proc proc rw
        25 22 254:3 / /data rw,relatime - xfs /dev/vdb rw
        26 22 254:3 /sub /bind rw,relatime - xfs /dev/vdb rw
        27 22 254:4 / /mnt/with\040space rw,relatime - ext4 /dev/vdc rw
        28 22 0:40 / /run rw - tmpfs tmpfs rw
        """;

    protected static readonly string[] Innermost = ["/mnt/with space", "/data", "/boot", "/"];

    protected FakeFilesystems Filesystems { get; } = new();
    protected FreezeState State { get; private set; } = new();
    /// <summary>Told every change of <see cref="State"/>, the frozen state's one published form.</summary>
    protected TestProbe FrozenChanges { get; }

    private sealed record FrozenChanged(bool Frozen);
    protected string StateDir => Path.Combine(Guest.Root, "state");
    protected string Marker => FrozenMarker.PathIn(StateDir);
    protected string Hook => Path.Combine(Guest.Bin, "fsfreeze-hook");

    protected FreezeSpecBase(ITestOutputHelper output)
        : base(output, virtualTime: true)
    {
        Directory.CreateDirectory(StateDir);
        Guest.Proc("self/mountinfo", MountInfo.Replace("\r", "") + "\n");
        FrozenChanges = CreateTestProbe();
    }

    /// <summary>The family as the dispatcher creates it; <paramref name="fsfreezeHocon"/> goes inside agent.fsfreeze.</summary>
    protected IActorRef Family(string fsfreezeHocon = "", bool startFrozen = false)
    {
        State = new FreezeState(startFrozen);
        var changes = FrozenChanges;
        State.Subscribe(frozen => changes.Tell(new FrozenChanged(frozen)));
        var settings = Guest.Settings($$"""
            state-dir = "{{StateDir}}"
            fsfreeze { {{fsfreezeHocon}} }
            """);
        var reaper = Sys.ActorOf(ReaperActor.Props(settings.Processes));
        var ctx = FreezeContext.From(new CommandContext(settings, reaper) { Freeze = State }) with
        {
            Filesystems = Filesystems,
            Stats = new FakeFilesystemStats(),
        };
        return Sys.ActorOf(FreezeActor.Props(ctx));
    }

    /// <summary>A hook script that logs "fsfreeze-hook &lt;phase&gt;" and then runs <paramref name="body"/>.</summary>
    protected void HookScript(string body = "exit 0") => Guest.Helper("fsfreeze-hook", body);

    protected async Task<string> Status(IActorRef family) =>
        Assert.IsType<JsonString>(await Succeeds(family, "guest-fsfreeze-status")).Value;

    protected async Task ExpectFrozenState(bool frozen) =>
        Assert.Equal(frozen, (await FrozenChanges.ExpectMsgAsync<FrozenChanged>(Patience)).Frozen);

    protected static JsonArray Strings(params string[] values) => new(values.Select(v => (JsonValue)new JsonString(v)).ToArray());
}
