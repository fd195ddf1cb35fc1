using Agent.Actors.Commands;
using Agent.Protocol.Envelope;
using Agent.Protocol.Json;
using Akka.Actor;
using Xunit.Abstractions;

namespace Agent.Tests.Commands.Power;

/// <summary>
/// A power command abandoned at its deadline: the child running it stops its helper and answers once;
/// a command the family is not running gets no answer from it (the dispatcher answers after its grace).
/// </summary>
public sealed class PowerAbandonSpecs(ITestOutputHelper output) : PowerSpecBase(output)
{
    private static readonly QmpError Abandoned = new("GenericError", "deadline passed");

    /// <summary>A helper body that records its pid in the fake guest's root, then hangs.</summary>
    private const string Hang = "echo $$ > \"$(dirname \"$0\")/../helper.pid\"; sleep 100";

    [Fact]
    public async Task An_abandoned_shutdown_kills_its_hung_helper_and_is_answered_once()
    {
        Guest.Helper("poweroff", Hang);
        var power = Power("shutdown.timeout = 10m");
        power.Tell(new Execute(1, "guest-shutdown", JsonObject.Empty));
        await HelperStarted("poweroff ");
        var pid = await HelperPid();

        power.Tell(new Abandon(1, Abandoned));
        Assert.Equal(Abandoned, Assert.IsType<CommandFailed>(await ExpectMsgAsync<object>(Patience)).Error);
        await HelperGone(pid);
        Clock.Advance(TimeSpan.FromMinutes(11));
        await ExpectNoMsgAsync(TimeSpan.FromSeconds(1));
    }

    [Fact]
    public async Task An_abandoned_suspend_stops_its_attempt_and_kills_the_executor_helper()
    {
        Guest.Helper("systemctl", $"[ \"$1\" = status ] && exit 3; {Hang}");
        var power = Power("suspend.probe = qemu");
        power.Tell(new Execute(7, "guest-suspend-ram", JsonObject.Empty));
        await HelperStarted("systemctl suspend");
        var pid = await HelperPid();

        power.Tell(new Abandon(7, Abandoned));
        var failed = Assert.IsType<CommandFailed>(await ExpectMsgAsync<object>(Patience));
        Assert.Equal((7L, Abandoned), (failed.Seq, failed.Error));
        await HelperGone(pid);
        Clock.Advance(TimeSpan.FromHours(1));
        await ExpectNoMsgAsync(TimeSpan.FromSeconds(1));
        // Nothing fell through to the next strategy or the state file after the stop.
        Assert.Equal(["systemctl status systemd-suspend", "systemctl suspend"], Guest.Calls());
    }

    [Fact]
    public async Task A_command_the_family_is_not_running_is_not_answered_by_it()
    {
        Guest.Helper("poweroff", "exit 0");
        var power = Power();
        await Succeeds(power, "guest-shutdown");
        power.Tell(new Abandon(1, Abandoned));
        power.Tell(new Abandon(99, Abandoned));
        await ExpectNoMsgAsync(TimeSpan.FromSeconds(1));
    }

    private async Task<int> HelperPid()
    {
        var file = Path.Combine(Guest.Root, "helper.pid");
        await AwaitConditionAsync(() => Task.FromResult(File.Exists(file) && File.ReadAllText(file).EndsWith('\n')), Patience);
        return int.Parse(File.ReadAllText(file));
    }

    /// <summary>Killed and reaped: no /proc entry left, not even a zombie.</summary>
    private async Task HelperGone(int pid) =>
        await AwaitConditionAsync(() => Task.FromResult(Processes.ProcFs.Stat(pid) is null), Patience);
}
