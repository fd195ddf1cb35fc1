using System.Buffers;
using Agent.Actors.Channel;
using Agent.Actors.Platform;
using Akka.Actor;
using Akka.Event;

namespace Agent.Actors.Processes;

/// <summary>The child is running.</summary>
public sealed record ChildStarted(int Pid);

/// <summary>posix_spawn failed (ENOENT for a missing program); no child exists.</summary>
public sealed record ChildSpawnFailed(string CommandLine, int Errno, string Message);

/// <summary>
/// The child ended and every captured pipe reached EOF. Exactly one of ExitCode or Signal is set;
/// TimedOut means the agent killed it (Signal is then SIGKILL).
/// </summary>
public sealed record ChildCompleted(
    int Pid,
    int? ExitCode,
    int? Signal,
    bool CoreDumped,
    bool TimedOut,
    ReadOnlySequence<byte> Stdout,
    bool StdoutTruncated,
    ReadOnlySequence<byte> Stderr,
    bool StderrTruncated);

/// <summary>The child's exit could not be collected (the reaper got ECHILD).</summary>
public sealed record ChildLost(int Pid, string Reason);

/// <summary>
/// Owns exactly one child process: spawns it in PreStart, feeds and drains its pipes, kills its
/// process group on timeout, and reports to its owner (the parent unless given). When the actor
/// stops for any reason before the child ended, the group is killed; the reaper still holds the pid
/// and collects it, so no zombie remains. Never restart it (that would run the command again):
/// supervisors of process owners use Stop.
/// </summary>
public sealed class ChildProcess : UntypedActor, IWithTimers
{
    private sealed class TimeoutElapsed
    {
        public static readonly TimeoutElapsed Instance = new();
    }

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly SpawnSpec _spec;
    private readonly IActorRef _reaper;
    private readonly IActorRef _owner;
    private int _pid = -1;
    private PipePump? _pump;
    private ChildExited? _exit;
    private PipePump.Drained? _output;
    private bool _timedOut;
    // Counts this child from spawn until this actor stops: its pipe pump, the SIGCHLD wake-up and the
    // reaper need the CPU in that span, so the event loop does not busy-poll (Channel/OffLoopWork.cs).
    private readonly OffLoopWork _offLoopWork = OffLoopWork.For(Context.System);

    public ITimerScheduler Timers { get; set; } = null!;

    public ChildProcess(SpawnSpec spec, IActorRef reaper, IActorRef? owner)
    {
        _spec = spec;
        _reaper = reaper;
        _owner = owner ?? Context.Parent;
    }

    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case ChildExited e:
                _exit = e;
                CompleteIfDone();
                break;
            case PipePump.Drained d:
                _output = d;
                CompleteIfDone();
                break;
            case TimeoutElapsed:
                OnTimeout();
                break;
            case GroupSignalled:
                break;
            case ChildReapFailed f:
                _pid = -1; // gone: never signal a pid we no longer own
                _owner.Tell(new ChildLost(f.Pid, f.Reason));
                Context.Stop(Self);
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    public static Props Props(SpawnSpec spec, IActorRef reaper, IActorRef? owner = null) =>
        ActorConstructor.Props(() => new ChildProcess(spec, reaper, owner));

    protected override void PreStart()
    {
        _offLoopWork.Began();
        // Armed before the spawn: once the program runs, its deadline is set (tests advance virtual
        // time as soon as a fake helper has logged its call). A failed spawn stops us, which cancels it.
        if (_spec.Timeout is { } timeout) Timers.StartSingleTimer("timeout", TimeoutElapsed.Instance, timeout);
        var errno = Spawner.TrySpawn(_spec, out var child);
        if (errno != 0)
        {
            _owner.Tell(new ChildSpawnFailed(_spec.CommandLine, errno, Native.StrError(errno)));
            Context.Stop(Self);
            return;
        }
        _pid = child!.Pid;
        // Watch first: the reaper then holds the pid before anyone told of it can ask for a signal.
        _reaper.Tell(new Watch(_pid, Self));
        _owner.Tell(new ChildStarted(_pid));
        var self = Self;
        try
        {
            _pump = PipePump.Start(child, _spec.Input, _spec.OutputLimit, drained => self.Tell(drained));
        }
        catch (IOException e)
        {
            // Out of fds for the pump's wake pipe: the child cannot be served, so it goes (the reaper collects it).
            child.CloseParentEnds();
            _owner.Tell(new ChildLost(_pid, e.Message));
            Context.Stop(Self);
            return;
        }
        if (_pump is null) _output = new PipePump.Drained(ReadOnlySequence<byte>.Empty, false, ReadOnlySequence<byte>.Empty, false);
    }

    protected override void PostStop()
    {
        _offLoopWork.Ended();
        _pump?.Cancel();
        if (_pid > 0 && (_exit is null || _output is null))
        {
            // Stopped before the child and its pipes were done (owner gone, agent stopping): take the
            // whole group down, grandchildren holding a pipe included; the reaper keeps collecting the pid.
            KillGroup();
        }
    }

    private void OnTimeout()
    {
        if (_exit is not null && _output is not null) return;
        _log.Warning("{0} (pid {1}) timed out after {2}; killing its process group", _spec.CommandLine, _pid, _spec.Timeout);
        _timedOut = true;
        KillGroup();
    }

    /// <summary>
    /// The child leads its own group, so the group reaches grandchildren too. The reaper sends it, and
    /// only while it still holds the leader (running, or a zombie kept until this actor stops).
    /// </summary>
    private void KillGroup() => _reaper.Tell(new SignalGroup(_pid, Native.SIGKILL, 0));

    private void CompleteIfDone()
    {
        if (_exit is null || _output is null) return;
        Timers.Cancel("timeout");
        _owner.Tell(new ChildCompleted(_exit.Pid, _exit.ExitCode, _exit.Signal, _exit.CoreDumped, _timedOut,
            _output.Stdout, _output.StdoutTruncated, _output.Stderr, _output.StderrTruncated));
        Context.Stop(Self);
    }
}
