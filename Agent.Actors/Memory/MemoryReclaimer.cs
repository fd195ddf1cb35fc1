using Agent.Actors.Settings;
using Akka.Actor;

namespace Agent.Actors.Memory;

/// <summary>
/// Gives memory back to the guest after a burst. The GC collects the large object heap only in a
/// full collection, which an agent that has gone quiet never triggers, so the buffers of one large
/// message stayed resident for good (bench/README.md, "Memory"). Every check interval: when at least
/// the configured bytes were allocated since the last reclaim and the agent allocated little in the
/// last interval (the burst is over), run one aggressive full collection, which also decommits.
/// Once, <see cref="MemorySettings.AfterStart"/> after start, the same collection for the start's own
/// garbage. Each time, the binary's read-only pages are unmapped too (<see cref="BinaryPages"/>), so
/// what stays resident is the code used since: after start, none of the start-up code.
/// </summary>
public sealed class MemoryReclaimer : UntypedActor, IWithTimers
{
    private sealed class Check
    {
        public static readonly Check Instance = new();
        private Check() { }
    }

    private sealed class Started
    {
        public static readonly Started Instance = new();
        private Started() { }
    }

    // Allocation within one interval below this counts as quiet (pings and status polls stay below it).
    private const long QuietBytes = 1 << 20;

    private readonly MemorySettings _settings;
    private long _atLastReclaim = GC.GetTotalAllocatedBytes();
    private long _atLastCheck = GC.GetTotalAllocatedBytes();

    public ITimerScheduler Timers { get; set; } = null!;

    public MemoryReclaimer(MemorySettings settings) => _settings = settings;

    public static Props Props(MemorySettings settings) => ActorConstructor.Props(() => new MemoryReclaimer(settings));

    protected override void PreStart()
    {
        if (_settings.ReclaimAfter > 0)
            Timers.StartPeriodicTimer("check", Check.Instance, _settings.CheckInterval);
        if (_settings.AfterStart > TimeSpan.Zero)
            Timers.StartSingleTimer("after-start", Started.Instance, _settings.AfterStart);
    }

    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case Started:
                Reclaim();
                break;
            case Check:
                var now = GC.GetTotalAllocatedBytes();
                var quiet = now - _atLastCheck < QuietBytes;
                _atLastCheck = now;
                if (quiet && now - _atLastReclaim >= _settings.ReclaimAfter) Reclaim();
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    private void Reclaim()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        if (_settings.ReleaseBinaryPages) BinaryPages.Release();
        _atLastReclaim = _atLastCheck = GC.GetTotalAllocatedBytes();
    }
}
