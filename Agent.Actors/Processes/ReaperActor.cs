using System.Runtime.InteropServices;
using Agent.Actors.Platform;
using Agent.Actors.Settings;
using Akka.Actor;
using Akka.Event;

namespace Agent.Actors.Processes;

/// <summary>Asks the reaper to collect <paramref name="Pid"/>'s exit and tell <paramref name="Owner"/>.</summary>
public sealed record Watch(int Pid, IActorRef Owner);

/// <summary>A watched child ended: exactly one of ExitCode (it called exit) or Signal (it was killed) is set.</summary>
public sealed record ChildExited(int Pid, int? ExitCode, int? Signal, bool CoreDumped);

/// <summary>waitpid failed for a watched pid (ECHILD: someone else reaped it). The pid is forgotten.</summary>
public sealed record ChildReapFailed(int Pid, int Errno, string Reason);

/// <summary>
/// Sends <paramref name="Signal"/> to the process group led by <paramref name="Pid"/>, only if the
/// reaper watches that child and has not reaped it. Answered with <see cref="GroupSignalled"/>.
/// </summary>
public sealed record SignalGroup(int Pid, int Signal, long Tag);

/// <summary>Errno 0: sent. ESRCH: not a child the agent still holds, so nothing was sent.</summary>
public sealed record GroupSignalled(int Pid, long Tag, int Errno);

/// <summary>
/// The one place that waits for children, and only for pids it was asked to watch: never waitpid(-1),
/// which would steal the exits of the runtime's own Process children.
/// SIGCHLD is only a wake-up (signals coalesce); each wake-up, and a slow sweep timer, rescans every
/// watched pid. An exit is seen with WNOWAIT and the zombie is kept until its owner stops, so the
/// pid, and with it the process group id, cannot be reused while the owner may still signal it:
/// every signal the agent sends to a child goes through here (<see cref="SignalGroup"/>) and reaches
/// only a group whose leader is still held. An owner that dies does not orphan its pid: the reaper
/// still collects it.
/// </summary>
public sealed class ReaperActor : UntypedActor, IWithTimers
{
    private sealed class ChildSignal
    {
        public static readonly ChildSignal Instance = new();
    }

    private sealed class Sweep
    {
        public static readonly Sweep Instance = new();
    }

    private const string SweepTimer = "sweep";

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly ProcessSettings _settings;
    private readonly IChildSignalSource _signals;
    /// <summary>Running children by pid.</summary>
    private readonly Dictionary<int, IActorRef> _watched = new();

    /// <summary>Exited children kept as zombies until their owner stops.</summary>
    private readonly Dictionary<int, IActorRef> _held = new();

    /// <summary>An owner's Terminated, handled after the messages it sent before it stopped.</summary>
    private sealed record OwnerGone(IActorRef Owner);
    private IDisposable? _subscription;

    public ITimerScheduler Timers { get; set; } = null!;

    public ReaperActor(ProcessSettings settings, IChildSignalSource signals)
    {
        _settings = settings;
        _signals = signals;
    }

    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case Watch watch: OnWatch(watch); break;
            case ChildSignal or Sweep:
                ReapAll();
                SweepWhileWatching();
                break;
            case SignalGroup signal: OnSignalGroup(signal); break;
            // Terminated is a system message and overtakes the owner's last ordinary ones (a SignalGroup
            // from its PostStop): release its zombies only after those.
            case Terminated t: Self.Tell(new OwnerGone(t.ActorRef)); break;
            case OwnerGone gone: OnOwnerGone(gone); break;
            default: Unhandled(message); break;
        }
    }

    public static Props Props(ProcessSettings settings, IChildSignalSource? signals = null) =>
        ActorConstructor.Props(() => new ReaperActor(settings, signals ?? PosixChildSignalSource.Instance));

    /// <summary>
    /// For Main, before anything else: an inherited SIG_IGN for SIGCHLD makes the kernel auto-reap,
    /// so waitpid would only ever see ECHILD and the runtime's Process would hang.
    /// </summary>
    public static void ResetChildSignalDisposition() => Native.Signal(Native.SIGCHLD, Native.SIG_DFL);

    protected override void PreStart()
    {
        if (Environment.ProcessId == 1)
            _log.Warning("running as pid 1: the .NET runtime then reaps every child itself, so helpers' exit statuses can be lost");
        var self = Self;
        _subscription = _signals.Subscribe(() => self.Tell(ChildSignal.Instance));
    }

    /// <summary>
    /// The agent is stopping. Children still running have their groups killed here: an owner's own
    /// kill (ChildProcess.PostStop) goes through this actor and is lost if the system stops it first,
    /// which left guest-exec children and hung helpers running after a SIGTERM. None of these pids has
    /// been reaped, so none can have been reused. Then every zombie is collected: an actor system that
    /// stops must leave none behind in a process that goes on (tests, hosts).
    /// </summary>
    protected override void PostStop()
    {
        _subscription?.Dispose();
        foreach (var pid in _watched.Keys) Native.Kill(-pid, Native.SIGKILL);
        foreach (var pid in _held.Keys) Collect(pid);
        _held.Clear();
        CollectKilled();
    }

    /// <summary>
    /// Reaps the children killed at stop as they die; SIGKILL ends a child at once unless it sits in an
    /// uninterruptible wait, so this waits briefly and leaves a straggler to init (the agent exits).
    /// </summary>
    private void CollectKilled()
    {
        var left = new List<int>(_watched.Keys);
        var until = Environment.TickCount64 + 200;
        while (left.Count > 0)
        {
            left.RemoveAll(Collect);
            if (left.Count == 0 || Environment.TickCount64 >= until) break;
            Thread.Sleep(2);
        }
        _watched.Clear();
    }

    private void OnWatch(Watch watch)
    {
        _watched[watch.Pid] = watch.Owner;
        if (!watch.Owner.IsNobody()) Context.Watch(watch.Owner);
        // The child may have exited before we were told about it; it stays a zombie until reaped, so nothing is lost.
        TryReap(watch.Pid, watch.Owner);
        SweepWhileWatching();
    }

    /// <summary>The sweep runs only while a child runs: an idle agent has no timer waking it every second.</summary>
    private void SweepWhileWatching()
    {
        if (_watched.Count == 0) Timers.Cancel(SweepTimer);
        else if (!Timers.IsTimerActive(SweepTimer)) Timers.StartPeriodicTimer(SweepTimer, Sweep.Instance, _settings.ReapSweepInterval);
    }

    private void ReapAll()
    {
        foreach (var (pid, owner) in _watched.ToArray()) TryReap(pid, owner);
    }

    /// <summary>Looks at the child's state without reaping it (waitid with WNOWAIT).</summary>
    private void TryReap(int pid, IActorRef owner)
    {
        int rc;
        Native.ChildState state;
        do rc = Native.PeekChild(pid, out state);
        while (rc < 0 && Marshal.GetLastPInvokeError() == Native.EINTR);

        if (rc == 0 && state.Pid == 0) return; // still running
        _watched.Remove(pid);
        if (rc < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            var reason = $"waitpid({pid}) failed: {Native.StrError(errno)}";
            _log.Error("{0}; another part of the process reaped a child it does not own", reason);
            owner.Tell(new ChildReapFailed(pid, errno, reason));
            return;
        }
        if (owner.IsNobody()) Collect(pid);
        else _held[pid] = owner;
        owner.Tell(state.Killed
            ? new ChildExited(pid, null, state.Status, state.CoreDumped)
            : new ChildExited(pid, state.Status, null, false));
    }

    /// <summary>
    /// Reaps a child that has exited; the pid is free for reuse after this. False while it still runs
    /// (WNOHANG), true once reaped or if it was not ours to reap.
    /// </summary>
    private static bool Collect(int pid)
    {
        int rc;
        do rc = Native.WaitPid(pid, out _, Native.WNOHANG);
        while (rc < 0 && Marshal.GetLastPInvokeError() == Native.EINTR);
        return rc != 0;
    }

    private void OnSignalGroup(SignalGroup request)
    {
        var errno = Native.ESRCH;
        if (request.Pid > 0 && (_watched.ContainsKey(request.Pid) || _held.ContainsKey(request.Pid)))
            errno = Native.Kill(-request.Pid, request.Signal) == 0 ? 0 : Marshal.GetLastPInvokeError();
        if (!Sender.IsNobody()) Sender.Tell(new GroupSignalled(request.Pid, request.Tag, errno));
    }

    private void OnOwnerGone(OwnerGone gone)
    {
        foreach (var (pid, owner) in _held.ToArray())
        {
            if (!owner.Equals(gone.Owner)) continue;
            _held.Remove(pid);
            Collect(pid);
        }
        foreach (var (pid, owner) in _watched.ToArray())
            if (owner.Equals(gone.Owner)) _watched[pid] = ActorRefs.Nobody;
    }
}
