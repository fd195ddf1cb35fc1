using Akka.Configuration;

namespace Agent.Actors.Settings;

/// <summary>agent.channel.event-loop, the dispatcher of the request path (Channel/EventLoop.cs).</summary>
/// <param name="BusyPoll">How long the loop polls without sleeping after it handled something; zero: never.</param>
public sealed record EventLoopSettings(TimeSpan BusyPoll)
{
    public static EventLoopSettings Create(Config c) => new(c.GetTimeSpan("busy-poll", TimeSpan.Zero));
}
