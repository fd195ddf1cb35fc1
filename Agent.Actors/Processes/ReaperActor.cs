using System.Runtime.InteropServices;
using Agent.Actors.Platform;
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
/// The one place that calls waitpid, and only for pids it was asked to watch: never waitpid(-1),
/// which would steal the exits of the runtime's own Process children (dotnet-akka-notes §2).
/// SIGCHLD is only a wake-up (signals coalesce); each wake-up, and a slow sweep timer, rescans every
/// watched pid. An owner that dies does not orphan its pid: the reaper still collects it.
/// </summary>
public sealed class ReaperActor : ReceiveActor, IWithTimers
{
    private sealed class ChildSignal
    {
        public static readonly ChildSignal Instance = new();
    }

    private sealed class Sweep
    {
        public static readonly Sweep Instance = new();
    }

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly ProcessSettings _settings;
    private readonly IChildSignalSource _signals;
    private readonly Dictionary<int, IActorRef> _watched = new();
    private IDisposable? _subscription;

    public ITimerScheduler Timers { get; set; } = null!;

    public ReaperActor(ProcessSettings settings, IChildSignalSource signals)
    {
        _settings = settings;
        _signals = signals;
        Receive<Watch>(OnWatch);
        Receive<ChildSignal>(_ => ReapAll());
        Receive<Sweep>(_ => ReapAll());
        Receive<Terminated>(OnOwnerTerminated);
    }

    public static Props Props(ProcessSettings settings, IChildSignalSource? signals = null) =>
        Akka.Actor.Props.Create(() => new ReaperActor(settings, signals ?? PosixChildSignalSource.Instance));

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
        Timers.StartPeriodicTimer("sweep", Sweep.Instance, _settings.ReapSweepInterval);
    }

    protected override void PostStop() => _subscription?.Dispose();

    private void OnWatch(Watch watch)
    {
        _watched[watch.Pid] = watch.Owner;
        if (!watch.Owner.IsNobody()) Context.Watch(watch.Owner);
        // The child may have exited before we were told about it; it stays a zombie until reaped, so nothing is lost.
        TryReap(watch.Pid, watch.Owner);
    }

    private void ReapAll()
    {
        foreach (var (pid, owner) in _watched.ToArray()) TryReap(pid, owner);
    }

    private void TryReap(int pid, IActorRef owner)
    {
        int rc, status;
        do rc = Native.WaitPid(pid, out status, Native.WNOHANG);
        while (rc < 0 && Marshal.GetLastPInvokeError() == Native.EINTR);

        if (rc == 0) return; // still running
        _watched.Remove(pid);
        if (rc < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            var reason = $"waitpid({pid}) failed: {Native.StrError(errno)}";
            _log.Error("{0}; another part of the process reaped a child it does not own", reason);
            owner.Tell(new ChildReapFailed(pid, errno, reason));
            return;
        }
        owner.Tell(WaitStatus.Decode(pid, status));
    }

    private void OnOwnerTerminated(Terminated t)
    {
        foreach (var (pid, owner) in _watched.ToArray())
            if (owner.Equals(t.ActorRef)) _watched[pid] = ActorRefs.Nobody;
    }
}
