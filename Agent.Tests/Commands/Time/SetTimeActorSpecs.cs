using Agent.Actors.Commands;
using Agent.Actors.Commands.Time;
using Agent.Actors.Platform;
using Agent.Protocol.Json;
using Akka.Actor;
using Xunit.Abstractions;

namespace Agent.Tests.Commands.Time;

/// <summary>Records settimeofday calls instead of setting this machine's clock.</summary>
public sealed class FakeTimeSetter : ISystemTimeSetter
{
    public List<(long Seconds, long Microseconds)> Calls { get; } = [];
    public int Errno { get; set; }

    public int SetTimeOfDay(long seconds, long microseconds)
    {
        Calls.Add((seconds, microseconds));
        return Errno;
    }
}

public sealed class SetTimeActorSpecs(ITestOutputHelper output) : GuestControlSpecBase(output)
{
    private readonly FakeTimeSetter _clock = new();

    private IActorRef Family(string agentHocon = "")
    {
        var settings = Settings(agentHocon);
        return Sys.ActorOf(SetTimeActor.Props(settings.Helpers, settings.Processes, _clock, Reaper(settings)));
    }

    private static JsonObject Time(long ns) => Args(("time", new JsonInt(ns)));

    [Fact]
    public async Task With_a_time_it_sets_the_clock_then_writes_the_rtc()
    {
        Guest.Helper("hwclock", "exit 0");
        await Succeeds(Family(), "guest-set-time", Time(1_700_000_000_123_456_789));

        Assert.Equal([(1_700_000_000L, 123_456L)], _clock.Calls);
        Assert.Equal(["hwclock -w"], Guest.Calls());
    }

    [Fact]
    public async Task Without_a_time_it_sets_the_clock_from_the_rtc_only()
    {
        Guest.Helper("hwclock", "exit 0");
        Assert.Equal(JsonObject.Empty, await Succeeds(Family(), "guest-set-time"));

        Assert.Empty(_clock.Calls);
        Assert.Equal(["hwclock -s"], Guest.Calls());
    }

    [Theory]
    [InlineData(-86_400_000_000_000L)] // 1969
    [InlineData(3_155_760_000_000_000_000L)] // 2070
    [InlineData(long.MaxValue)]
    public async Task A_time_outside_1970_to_2069_is_invalid_and_touches_nothing(long ns)
    {
        Guest.Helper("hwclock", "exit 0");
        Assert.Equal("Invalid time", await Fails(Family(), "guest-set-time", Time(ns)));
        Assert.Empty(_clock.Calls);
        Assert.Empty(Guest.Calls());
    }

    [Fact]
    public async Task A_refused_settimeofday_fails_before_hwclock_runs()
    {
        Guest.Helper("hwclock", "exit 0");
        _clock.Errno = 1;
        Assert.Equal("Failed to set time to guest: Operation not permitted", await Fails(Family(), "guest-set-time", Time(1_700_000_000_000_000_000)));
        Assert.Empty(Guest.Calls());
    }

    [Fact]
    public async Task A_failing_hwclock_reports_its_output_after_the_clock_was_set()
    {
        Guest.Helper("hwclock", "echo 'hwclock: Cannot access the Hardware Clock via any known method.' >&2; exit 1");
        Assert.Equal("child process has failed to set hardware clock to system time: hwclock: Cannot access the Hardware Clock via any known method.\n",
            await Fails(Family(), "guest-set-time", Time(1_700_000_000_000_000_000)));
        Assert.Single(_clock.Calls);
    }

    [Fact]
    public async Task A_missing_hwclock_fails_as_qemus_exec_would()
    {
        Assert.Equal("child process has failed to set hardware clock to system time: failed to exec 'hwclock': No such file or directory\n",
            await Fails(Family(), "guest-set-time"));
    }

    [Fact]
    public async Task A_hanging_hwclock_is_killed_at_the_helper_timeout()
    {
        Guest.Helper("hwclock", "sleep 600");
        var family = Family("helpers.timeout = 15s");
        family.Tell(new Execute(1, "guest-set-time", JsonObject.Empty), TestActor);
        // Logged by the running helper, whose timer ChildProcess armed before spawning it.
        await AwaitConditionAsync(() => Task.FromResult(Guest.Calls().Contains("hwclock -s")), Patience);

        Clock.Advance(TimeSpan.FromSeconds(15));

        var failed = Assert.IsType<CommandFailed>(await ExpectMsgAsync<object>(Patience));
        Assert.Equal("child process has failed to set hardware clock to system time: it did not finish within 15s and was killed", failed.Error.Desc);
    }
}
