using Agent.Actors.Commands;
using Agent.Protocol.Envelope;
using Agent.Protocol.Json;
using Akka.Actor;
using Xunit.Abstractions;

namespace Agent.Tests.Commands.Power;

/// <summary>guest-shutdown, HEAD ≥ 10.2: poweroff/halt/reboot if present, else shutdown with qemu-ga's flags.</summary>
public sealed class ShutdownSpecs(ITestOutputHelper output) : PowerSpecBase(output)
{
    private static JsonObject Mode(string mode) => JsonObject.Of(("mode", new JsonString(mode)));

    [Theory]
    [InlineData(null, "poweroff")]
    [InlineData("powerdown", "poweroff")]
    [InlineData("halt", "halt")]
    [InlineData("reboot", "reboot")]
    public async Task The_mode_program_runs_with_no_arguments_when_present(string? mode, string program)
    {
        foreach (var p in new[] { "poweroff", "halt", "reboot", "shutdown" }) Guest.Helper(p, "exit 0");
        await Succeeds(Power(), "guest-shutdown", mode is null ? null : Mode(mode));
        Assert.Equal([$"{program} "], Guest.Calls());
    }

    [Theory]
    [InlineData("powerdown", "-P")]
    [InlineData("halt", "-H")]
    [InlineData("reboot", "-r")]
    public async Task Without_it_shutdown_runs_with_qemu_gas_arguments(string mode, string flag)
    {
        Guest.Helper("shutdown", "printf '%s|' \"$@\" > \"$(dirname \"$0\")/../argv\"");
        await Succeeds(Power(), "guest-shutdown", Mode(mode));
        Assert.Equal($"-h|{flag}|+0|hypervisor initiated shutdown|", File.ReadAllText(Path.Combine(Guest.Root, "argv")));
    }

    [Fact]
    public async Task An_invalid_mode_gives_qemus_text_with_its_missing_parenthesis()
    {
        Guest.Helper("poweroff", "exit 0");
        Assert.Equal("mode is invalid (valid values are: halt|powerdown|reboot", await Fails(Power(), "guest-shutdown", Mode("off")));
        Assert.Empty(Guest.Calls());
    }

    [Fact]
    public async Task A_failing_helper_reports_its_output_or_its_exit_status()
    {
        var power = Power();
        Guest.Helper("poweroff", "echo 'Failed to talk to init daemon.' >&2; exit 1");
        Assert.Equal("child process has failed to shutdown: Failed to talk to init daemon.\n", await Fails(power, "guest-shutdown"));
        Guest.Helper("poweroff", "exit 3");
        Assert.Equal("child process has failed to shutdown: exit status 3", await Fails(power, "guest-shutdown"));
        Guest.Helper("poweroff", "kill -9 $$");
        Assert.Equal("child process has terminated abnormally", await Fails(power, "guest-shutdown"));
    }

    [Fact]
    public async Task With_no_helper_at_all_the_failed_exec_is_reported_as_the_runner_does()
    {
        Assert.Equal("child process has failed to shutdown: failed to exec 'shutdown': No such file or directory\n",
            await Fails(Power(), "guest-shutdown"));
    }

    [Fact]
    public async Task A_hung_helper_is_killed_at_the_shutdown_timeout()
    {
        Guest.Helper("poweroff", "echo going down; sleep 100");
        var power = Power("shutdown.timeout = 45s");
        power.Tell(new Execute(1, "guest-shutdown", JsonObject.Empty));
        await HelperStarted("poweroff ");
        Clock.Advance(TimeSpan.FromSeconds(45));
        var failed = Assert.IsType<CommandFailed>(await ExpectMsgAsync<object>(Patience));
        Assert.Equal("child process has failed to shutdown: it did not finish within 45s and was killed: going down\n", failed.Error.Desc);
    }

    [Fact]
    public async Task A_helper_killed_by_SIGTERM_has_its_error_held_for_the_grace_as_the_guests_own_shutdown_ends_the_agent_first()
    {
        Guest.Helper("poweroff", "kill -TERM $$");
        var power = Power("shutdown.terminated-grace = 5s");
        power.Tell(new Execute(1, "guest-shutdown", JsonObject.Empty));
        await HelperStarted("poweroff ");
        await ExpectNoMsgAsync(TimeSpan.FromSeconds(1));
        Clock.Advance(TimeSpan.FromSeconds(4));
        await ExpectNoMsgAsync(TimeSpan.FromMilliseconds(300));
        // The hold's timer may be armed only now on a slow machine: step the clock until it fires.
        var failed = await AdvanceUntilAnswered();
        Assert.Equal(1, failed.Seq);
        Assert.Equal("child process has terminated abnormally", failed.Error.Desc);
    }

    [Fact]
    public async Task A_held_error_abandoned_at_the_deadline_is_answered_once()
    {
        Guest.Helper("poweroff", "kill -TERM $$");
        // The shutdown actor itself: the power family answers an abandoned command at once and leaves
        // later answers to the dispatcher to drop; the owner of the held error must drop it itself.
        var settings = Guest.Settings("shutdown.terminated-grace = 5s");
        var reaper = Sys.ActorOf(Agent.Actors.Processes.ReaperActor.Props(settings.Processes));
        var power = Sys.ActorOf(Agent.Actors.Commands.Power.ShutdownActor.Props(
            Agent.Actors.Commands.Power.PowerContext.From(new CommandContext(settings, reaper))));
        power.Tell(new Execute(1, "guest-shutdown", JsonObject.Empty));
        await HelperStarted("poweroff ");
        await ExpectNoMsgAsync(TimeSpan.FromSeconds(1));
        var abandoned = new QmpError("GenericError", "deadline passed");
        power.Tell(new Abandon(1, abandoned));
        Assert.Equal(abandoned, Assert.IsType<CommandFailed>(await ExpectMsgAsync<object>(Patience)).Error);
        Clock.Advance(TimeSpan.FromSeconds(10));
        await ExpectNoMsgAsync(TimeSpan.FromSeconds(1));
    }

    private async Task<CommandFailed> AdvanceUntilAnswered()
    {
        var deadline = DateTime.UtcNow + Patience;
        while (DateTime.UtcNow < deadline)
        {
            Clock.Advance(TimeSpan.FromSeconds(1));
            if (HasMessages) return Assert.IsType<CommandFailed>(await ExpectMsgAsync<object>(Patience));
            await Task.Delay(100);
        }
        throw new Xunit.Sdk.XunitException("the held error never came");
    }
}
