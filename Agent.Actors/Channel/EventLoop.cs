using System.Collections.Concurrent;
using System.Diagnostics;
using Agent.Actors.Platform;
using Agent.Actors.Settings;
using Akka.Configuration;
using Akka.Dispatch;

namespace Agent.Actors.Channel;

/// <summary>
/// One thread that waits in poll(2) on the channel's descriptors and runs the mailboxes of the actors on
/// a request's path (channel, dispatcher, the read-only families), the way qemu-ga's one GMainLoop
/// thread reads, dispatches and writes (qga/main.c). A request then costs one wake-up, the socket's,
/// instead of one per mailbox hop; actors on this loop hand messages to each other as queue operations.
/// It is Akka's executor for the dispatcher `agent.channel.event-loop` (reference.conf), so nothing that
/// blocks may run here: families that wait on processes, hooks or the disk stay on Akka's default
/// dispatcher, and a transport never blocks in a callback (its descriptors are non-blocking).
/// </summary>
public sealed unsafe class EventLoop : ExecutorService
{
    /// <summary>The loop whose thread is running the caller, if any.</summary>
    [ThreadStatic] private static EventLoop? t_current;

    public static EventLoop? Current => t_current;

    private sealed class Watch(Action<short> ready)
    {
        public short Events;
        public readonly Action<short> Ready = ready;
    }

    private sealed class ActionWork(Action action) : IRunnable
    {
        public void Run() => action();
        public void Execute() => action();
    }

    private const int WorkPerPoll = 256;

    /// <summary>
    /// Mailbox runs nested on the loop's stack at most (see <see cref="Execute"/>): the request path is
    /// three deep (transport → channel → dispatcher → family); a deeper chain, or a mailbox that
    /// re-registers itself at the end of each run, is queued instead, so the stack stays bounded.
    /// </summary>
    private const int MaxNestedRuns = 4;

    private readonly ConcurrentQueue<IRunnable> _work = new();
    private readonly Queue<Action> _idle = new();
    private readonly Dictionary<int, Watch> _watches = new();
    private readonly Thread _thread;
    private readonly int _wake;
    // 1 while the thread is about to sleep in poll with nothing queued: a poster must then wake it.
    private int _sleeping;
    private bool _stopping;
    private int _nestedRuns;
    // Whether _fds no longer matches _watches (set by SetWatch and RemoveWatch).
    private bool _pollSetStale = true;
    private PollFdBuffer _fds = new(8);
    // Busy polling, in Stopwatch ticks: the configured window (0: off), the window now (it adapts, see
    // NoteActivity), when the loop last finished handling something, and when the current window closes.
    private readonly long _busyPollMax;
    private long _busyPollWindow;
    private long _idleSince;
    private long _busyPollUntil;
    private long _polls;
    // What the agent has under way off this loop; the loop spins only while there is none.
    private readonly OffLoopWork? _offLoopWork;

    public EventLoop(string id) : this(id, TimeSpan.Zero, null)
    {
    }

    /// <param name="busyPoll">
    /// After the loop has handled something, it keeps polling without sleeping for up to this long (zero:
    /// never), so a request that follows at once finds the thread running instead of waking a halted CPU
    /// (bench/README.md, "Ping tail").
    /// </param>
    /// <param name="offLoopWork">
    /// The agent's work off this loop: the loop spins only while there is none, and stops the moment there
    /// is, so it never keeps a thread the agent is waiting for from the CPU. Null: the window alone decides.
    /// </param>
    public EventLoop(string id, TimeSpan busyPoll, OffLoopWork? offLoopWork) : base(id)
    {
        _busyPollMax = _busyPollWindow = (long)(busyPoll.TotalSeconds * Stopwatch.Frequency);
        _offLoopWork = offLoopWork;
        _wake = Native.EventFd(0, Native.EFD_CLOEXEC | Native.EFD_NONBLOCK);
        if (_wake < 0) throw new IOException("eventfd failed");
        _thread = new Thread(Run) { IsBackground = true, Name = id };
        _thread.Start();
    }

    public bool IsCurrentThread => t_current == this;

    /// <summary>poll(2) calls made so far: a loop asleep makes none (BusyPollSpecs).</summary>
    internal long Polls => Volatile.Read(ref _polls);

    /// <summary>What the loop asks before each busy poll; null when it never busy-polls (OffLoopWorkSpecs).</summary>
    internal OffLoopWork? OffLoopWork => _offLoopWork;

    /// <summary>The busy-poll window as it has adapted (BusyPollSpecs).</summary>
    internal TimeSpan BusyPollWindow => TimeSpan.FromSeconds((double)Volatile.Read(ref _busyPollWindow) / Stopwatch.Frequency);

    /// <summary>
    /// Queues an actor's mailbox run (Akka) or other work; from any thread. A mailbox scheduled from the
    /// loop itself (an actor on the loop told another one) runs at once, nested, as Akka's
    /// CallingThreadDispatcher runs every mailbox: the tell of a sequential request's four hops
    /// (submit, execute, outcome, delivery) then costs no queue round trip and no extra mailbox run,
    /// since a reply to an actor still running lands in its mailbox and is taken in the same run
    /// (bench/README.md, "Per-request cost, round 3"). It stays a message model: Akka scheduled the
    /// mailbox only because it was idle, so no actor ever handles two messages at once, each mailbox
    /// keeps its order, and the running actors' thread context is restored when the nested run ends.
    /// </summary>
    public override void Execute(IRunnable run)
    {
        if (run is Mailbox && _nestedRuns < MaxNestedRuns && t_current == this)
        {
            _nestedRuns++;
            try { run.Run(); }
            finally { _nestedRuns--; }
            return;
        }
        _work.Enqueue(run);
        if (Interlocked.Exchange(ref _sleeping, 0) == 1) WakeThread();
    }

    /// <summary>Runs <paramref name="action"/> on the loop: at once when called on it, else queued.</summary>
    public void Invoke(Action action)
    {
        if (IsCurrentThread) action();
        else Execute(new ActionWork(action));
    }

    /// <summary>Whether work (a mailbox run) is queued behind the one running now.</summary>
    public bool HasQueuedWork => !_work.IsEmpty;

    /// <summary>
    /// Runs <paramref name="action"/> on the loop once no work is queued, before it polls: the channel
    /// flushes its replies there, so a pipelined burst leaves in a few large writes rather than one
    /// write per reply (every hop of the burst is work on this loop, so it is idle only when the burst
    /// is answered or waits on something off the loop). Loop thread only.
    /// </summary>
    public void WhenIdle(Action action) => _idle.Enqueue(action);

    /// <summary>Stops the thread once the work queued before this call has run.</summary>
    public override void Shutdown() => Execute(new ActionWork(() => _stopping = true));

    /// <summary>
    /// Calls <paramref name="ready"/> on the loop with poll's revents whenever <paramref name="fd"/> is
    /// ready for <paramref name="events"/> (0: not polled at all, so a hung-up descriptor cannot spin).
    /// Loop thread only.
    /// </summary>
    public void SetWatch(int fd, short events, Action<short> ready)
    {
        if (!_watches.TryGetValue(fd, out var watch) || watch.Ready != ready)
        {
            _watches[fd] = watch = new Watch(ready);
            _pollSetStale = true;
        }
        if (watch.Events == events) return;
        watch.Events = events;
        _pollSetStale = true;
    }

    /// <summary>Forgets <paramref name="fd"/>; call before closing it. Loop thread only.</summary>
    public void RemoveWatch(int fd)
    {
        if (_watches.Remove(fd)) _pollSetStale = true;
    }

    private void Run()
    {
        t_current = this;
        while (!_stopping)
        {
            // Descriptors get their turn after a bounded run of work, as GLib's main loop alternates
            // sources; one poll per batch, not per mailbox run (a pipelined burst queues several per request).
            var ran = false;
            long seenAt = 0;
            for (var budget = WorkPerPoll; budget > 0 && _work.TryDequeue(out var work); budget--)
            {
                if (!ran) seenAt = Now();
                work.Run();
                ran = true;
            }
            if (_stopping) break;
            if (_work.IsEmpty && _idle.Count > 0)
            {
                // Idle actions usually queue work (a Flush message): run them, then that work.
                for (var n = _idle.Count; n > 0; n--) _idle.Dequeue()();
                continue;
            }
            if (ran) NoteActivity(seenAt, descriptorReady: false);
            var timeout = 0;
            if (_work.IsEmpty)
            {
                // Within the window poll(0) again, as long as a descriptor is polled (the next request
                // comes on one; a char device's arrives through its reader thread, which a spin would
                // keep from this CPU) and nothing else of the agent may need the CPU: asked before every
                // poll, so the loop sleeps as soon as a command leaves it, a child runs or the ThreadPool
                // has work (bench/README.md, "Busy-poll, round 2").
                if (!InBusyPollWindow() || !PollsADescriptor() || _offLoopWork is { None: false })
                {
                    Interlocked.Exchange(ref _sleeping, 1);
                    if (_work.IsEmpty) timeout = -1;
                    else Interlocked.Exchange(ref _sleeping, 0);
                }
            }
            var count = Poll(timeout);
            Interlocked.Exchange(ref _sleeping, 0);
            if (count > 0)
            {
                seenAt = Now();
                NoteActivity(seenAt, DispatchReady());
            }
        }
        Native.Close(_wake);
    }

    private long Now() => _busyPollMax > 0 ? Stopwatch.GetTimestamp() : 0;

    /// <summary>
    /// The kernel's haltpoll governor in user space: a host that sends its next request right after a
    /// reply is served without the halt and the wake-up of this CPU (on a VM, an exit to the hypervisor
    /// each). The window opens only when something was handled, so an idle loop sleeps as before, and it
    /// adapts as haltpoll's does: back to the full window when a descriptor was ready within it of the
    /// last thing handled, halved when it was not (spinning would have been wasted), and off below an
    /// eighth, so a host whose requests come milliseconds apart (polling guest-exec-status) costs no
    /// spinning. Work other threads post (an exec family's reply) reopens the window but does not adapt
    /// it: it is the host's next request that a spin waits for.
    /// </summary>
    private void NoteActivity(long seenAt, bool descriptorReady)
    {
        if (_busyPollMax == 0) return;
        if (descriptorReady && _idleSince != 0)
        {
            var halved = _busyPollWindow / 2;
            Volatile.Write(ref _busyPollWindow,
                seenAt - _idleSince <= _busyPollMax ? _busyPollMax : halved >= _busyPollMax / 8 ? halved : 0);
        }
        _idleSince = Stopwatch.GetTimestamp();
        _busyPollUntil = _idleSince + _busyPollWindow;
    }

    private bool InBusyPollWindow() => _busyPollWindow > 0 && Stopwatch.GetTimestamp() < _busyPollUntil;

    private bool PollsADescriptor()
    {
        UpdatePollSet();
        return _fds.Count > 1;
    }

    /// <summary>Rebuilt only when a watch changed, not per poll: poll(2) rewrites every revents itself.</summary>
    private void UpdatePollSet()
    {
        if (!_pollSetStale) return;
        _pollSetStale = false;
        _fds.Clear();
        _fds.Add(_wake, Native.POLLIN);
        foreach (var (fd, watch) in _watches)
            if (watch.Events != 0) _fds.Add(fd, watch.Events);
    }

    private int Poll(int timeout)
    {
        _polls++;
        UpdatePollSet();
        fixed (Native.PollFd* p = _fds.Items) return Native.Poll(p, (nuint)_fds.Count, timeout);
    }

    /// <summary>Calls the watches whose descriptors are ready; returns whether there was one (not just a wake-up).</summary>
    private bool DispatchReady()
    {
        var items = _fds.Items;
        if (items[0].Revents != 0)
        {
            ulong value;
            Native.Read(_wake, (byte*)&value, 8);
        }
        var any = false;
        for (var i = 1; i < _fds.Count; i++)
        {
            var (fd, revents) = (items[i].Fd, items[i].Revents);
            if (revents == 0) continue;
            any = true;
            // An earlier callback of this round may have removed or replaced the watch.
            if (_watches.TryGetValue(fd, out var watch) && watch.Events != 0) watch.Ready(revents);
        }
        return any;
    }

    private void WakeThread()
    {
        ulong one = 1;
        Native.Write(_wake, (byte*)&one, 8);
    }

    private struct PollFdBuffer(int capacity)
    {
        public Native.PollFd[] Items = new Native.PollFd[capacity];
        public int Count;

        public void Clear() => Count = 0;

        public void Add(int fd, short events)
        {
            if (Count == Items.Length) Array.Resize(ref Items, Count * 2);
            Items[Count++] = new Native.PollFd { Fd = fd, Events = events };
        }
    }
}

/// <summary>
/// Akka's hook for an executor named in HOCON (`executor = "Agent.Actors.Channel.EventLoopConfigurator,
/// Agent.Actors"`): every dispatcher configured with it runs its actors on one <see cref="EventLoop"/>.
/// </summary>
public sealed class EventLoopConfigurator(Config config, IDispatcherPrerequisites prerequisites)
    : ExecutorServiceConfigurator(config, prerequisites)
{
    private readonly EventLoopSettings _settings = EventLoopSettings.Create(config);

    public override ExecutorService Produce(string id) =>
        new EventLoop(id, _settings.BusyPoll, _settings.BusyPoll > TimeSpan.Zero ? OffLoopWork.For(Prerequisites.Settings.System) : null);
}
