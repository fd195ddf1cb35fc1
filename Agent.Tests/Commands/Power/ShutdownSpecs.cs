using Agent.Actors.Commands;
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
}
