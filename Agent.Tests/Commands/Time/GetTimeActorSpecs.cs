using Agent.Actors.Commands.Time;
using Agent.Actors.Platform;
using Agent.Protocol.Json;
using Xunit.Abstractions;
using Agent.Tests.Fakes;

namespace Agent.Tests.Commands.Time;

public sealed class GetTimeActorSpecs(ITestOutputHelper output) : FamilySpec(output)
{
    private Akka.Actor.IActorRef GetTime(IClock? clock = null) =>
        Sys.ActorOf(GetTimeActor.Props(clock ?? new FakeClock(1_700_000_000_123_456, new LocalZone("CET", 3600))));

    [Fact]
    public async Task Time_is_nanoseconds_with_microsecond_granularity()
    {
        var time = await Succeeds(GetTime(), "guest-get-time");
        Assert.Equal(new JsonInt(1_700_000_000_123_456_000), time);
    }

    [Fact]
    public async Task Real_clock_agrees_with_dotnet()
    {
        var before = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var time = (JsonInt)await Succeeds(GetTime(SystemClock.Instance), "guest-get-time");
        var after = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        Assert.InRange(time.Value / 1_000_000, before, after);
        Assert.Equal(0, time.Value % 1000);
    }
}
