using System.Diagnostics;
using Akka.Actor;
using Akka.Configuration;
using Akka.Dispatch;
using Akka.Event;

namespace Agent.Actors.Channel;

/// <summary>
/// Akka's scheduler for the agent (`akka.scheduler.implementation` in reference.conf): one thread that
/// sleeps until the earliest due timer, instead of Akka's hashed wheel, which wakes every tick whether
/// or not a timer is due (the runtime's timer thread and two pool threads each time, which then hold
/// up the event loop on the one CPU an agent gets: bench/README.md, "Per-request cost"). Timers here are few
/// (deadlines, timeouts, sweeps), so a heap ordered by due time is all it takes.
/// </summary>
public sealed class DueTimeScheduler : SchedulerBase, IDateTimeOffsetNowTimeProvider, IDisposable
{
    private sealed class Entry(TimeSpan due, TimeSpan interval, Action run, ICancelable? cancelable)
    {
        public TimeSpan Due = due;
        public readonly TimeSpan Interval = interval;
        public readonly Action Run = run;
        public readonly ICancelable? Cancelable = cancelable;
    }

    private readonly object _gate = new();
    private readonly PriorityQueue<Entry, (TimeSpan Due, long Order)> _due = new();
    private readonly Thread _thread;
    private long _order;
    private bool _stopped;
    // A cancelled timer stays in the heap until it falls due; this bounds how many can pile up (a
    // long timeout cancelled per exec or per helper run) by rebuilding without them when the heap doubles.
    private int _compactAt = CompactFloor;
    private const int CompactFloor = 1024;

    public DueTimeScheduler(Config scheduler, ILoggingAdapter log) : base(scheduler, log)
    {
        _thread = new Thread(Run) { IsBackground = true, Name = "agent-scheduler" };
        _thread.Start();
    }

    protected override DateTimeOffset TimeNow => DateTimeOffset.Now;

    private static readonly long Origin = Stopwatch.GetTimestamp();

    public override TimeSpan MonotonicClock => Stopwatch.GetElapsedTime(Origin);

    public override TimeSpan HighResMonotonicClock => Stopwatch.GetElapsedTime(Origin);

    protected override void InternalScheduleTellOnce(TimeSpan delay, ICanTell receiver, object message, IActorRef sender, ICancelable cancelable) =>
        Add(delay, TimeSpan.Zero, () => receiver.Tell(message, sender), cancelable);

    protected override void InternalScheduleTellRepeatedly(TimeSpan initialDelay, TimeSpan interval, ICanTell receiver, object message, IActorRef sender, ICancelable cancelable) =>
        Add(initialDelay, interval, () => receiver.Tell(message, sender), cancelable);

    protected override void InternalScheduleOnce(TimeSpan delay, Action action, ICancelable cancelable) =>
        Add(delay, TimeSpan.Zero, action, cancelable);

    protected override void InternalScheduleOnce(TimeSpan delay, IRunnable action, ICancelable cancelable) =>
        Add(delay, TimeSpan.Zero, action.Run, cancelable);

    protected override void InternalScheduleRepeatedly(TimeSpan initialDelay, TimeSpan interval, Action action, ICancelable cancelable) =>
        Add(initialDelay, interval, action, cancelable);

    protected override void InternalScheduleRepeatedly(TimeSpan initialDelay, TimeSpan interval, IRunnable action, ICancelable cancelable) =>
        Add(initialDelay, interval, action.Run, cancelable);

    private void Add(TimeSpan delay, TimeSpan interval, Action run, ICancelable? cancelable)
    {
        var entry = new Entry(MonotonicClock + (delay > TimeSpan.Zero ? delay : TimeSpan.Zero), interval, run, cancelable);
        lock (_gate)
        {
            if (_stopped) throw new SchedulerException("cannot schedule: the scheduler has stopped");
            if (_due.Count >= _compactAt) DropCancelled();
            var earliest = _due.TryPeek(out _, out var head) ? head.Due : TimeSpan.MaxValue;
            _due.Enqueue(entry, (entry.Due, ++_order));
            // Only a new earliest timer needs the thread awake to shorten its sleep.
            if (entry.Due < earliest) Monitor.Pulse(_gate);
        }
    }

    /// <summary>Timers waiting in the heap, cancelled ones included (for specs).</summary>
    internal int Pending
    {
        get { lock (_gate) return _due.Count; }
    }

    private void DropCancelled()
    {
        var live = _due.UnorderedItems.Where(e => e.Element.Cancelable?.IsCancellationRequested != true).ToArray();
        _due.Clear();
        _due.EnqueueRange(live);
        _compactAt = Math.Max(CompactFloor, 2 * _due.Count);
    }

    private void Run()
    {
        var ready = new List<Entry>();
        while (true)
        {
            lock (_gate)
            {
                while (!_stopped)
                {
                    if (!_due.TryPeek(out _, out var head))
                    {
                        Monitor.Wait(_gate);
                        continue;
                    }
                    var wait = head.Due - MonotonicClock;
                    if (wait <= TimeSpan.Zero) break;
                    // Whole milliseconds, rounded up: never early.
                    Monitor.Wait(_gate, (int)Math.Min(int.MaxValue - 1, Math.Ceiling(wait.TotalMilliseconds)));
                }
                if (_stopped) return;
                var now = MonotonicClock;
                while (_due.TryPeek(out var entry, out var key) && key.Due <= now) ready.Add(_due.Dequeue());
            }
            foreach (var entry in ready) Fire(entry);
            ready.Clear();
        }
    }

    private void Fire(Entry entry)
    {
        if (entry.Cancelable?.IsCancellationRequested == true) return;
        try
        {
            entry.Run();
        }
        catch (Exception e)
        {
            Log.Error(e, "a scheduled task failed");
        }
        if (entry.Interval <= TimeSpan.Zero || entry.Cancelable?.IsCancellationRequested == true) return;
        entry.Due += entry.Interval;
        lock (_gate)
            if (!_stopped) _due.Enqueue(entry, (entry.Due, ++_order));
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _stopped = true;
            _due.Clear();
            Monitor.Pulse(_gate);
        }
    }
}
