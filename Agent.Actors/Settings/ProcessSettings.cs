using Akka.Configuration;

namespace Agent.Actors.Settings;

/// <summary><c>agent.processes</c>: how children are reaped, and how much helper output is kept.</summary>
public sealed record ProcessSettings(TimeSpan ReapSweepInterval, int HelperOutputLimit)
{
    public static ProcessSettings Create(Config c) => new(
        c.GetTimeSpan("reap-sweep-interval"),
        (int)(c.GetByteSize("helper-output-limit") ?? 64 * 1024));
}
