using Akka.Configuration;

namespace Agent.Actors.Settings;

/// <summary>agent.memory: when the agent hands memory back after a burst (see MemoryReclaimer).</summary>
public sealed record MemorySettings(long ReclaimAfter, TimeSpan CheckInterval, TimeSpan AfterStart, bool ReleaseBinaryPages)
{
    public static readonly MemorySettings Default = new(32L << 20, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(1), true);

    public static MemorySettings Create(Config c) =>
        new(c.GetByteSize("reclaim-after") ?? Default.ReclaimAfter, c.GetTimeSpan("check-interval", Default.CheckInterval),
            c.GetTimeSpan("after-start", Default.AfterStart), c.GetBoolean("release-binary-pages", Default.ReleaseBinaryPages));
}
