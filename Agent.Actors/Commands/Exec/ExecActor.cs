using System.Globalization;
using Agent.Actors.Platform;
using Agent.Actors.Processes;
using Agent.Protocol.Encoding;
using Agent.Protocol.Envelope;
using Agent.Protocol.Json;
using Agent.Protocol.Schema;
using Akka.Actor;
using Akka.Event;

namespace Agent.Actors.Commands.Exec;

/// <summary>
/// guest-exec and guest-exec-status with qemu-ga HEAD semantics (spec §5), plus ActorAgent's
/// downstream extensions (QAPI's <c>__RFQDN_name</c> rule): a timeout that kills the process group,
/// an explicit kill, a working directory, and results kept until acknowledged.
/// Each process is owned by one <see cref="ChildProcess"/> child; this actor keeps the status table,
/// keyed by pid, from the spawn until the result has been handed out.
/// </summary>
public sealed class ExecActor : ReceiveActor, IWithTimers
{
    /// <summary>QAPI's downstream prefix for names ActorAgent adds to the qga schema.</summary>
    public const string Downstream = "__org.actoragent_";

    public const string TimeoutArgument = Downstream + "timeout";
    public const string WorkingDirectoryArgument = Downstream + "working-directory";
    public const string KeepResultArgument = Downstream + "keep-result";
    public const string TimedOutMember = Downstream + "timed-out";
    public const string KillCommand = Downstream + "guest-exec-kill";
    public const string AckCommand = Downstream + "guest-exec-ack";

    public static readonly CommandFamily Family = new(
        "exec",
        ["guest-exec", "guest-exec-status", KillCommand, AckCommand],
        ctx => Props(ctx.Settings.Exec, ctx.Reaper));

    public static Akka.Actor.Props Props(ExecSettings settings, IActorRef reaper) =>
        Akka.Actor.Props.Create(() => new ExecActor(settings, reaper));

    /// <summary>A guest-exec waiting for its child to report the spawn.</summary>
    private sealed record Starting(long Seq, IActorRef ReplyTo, string Path, bool KeepResult);

    /// <summary>A row of the status table.</summary>
    private abstract record Entry;
    private sealed record Running(IActorRef Owner, bool KeepResult) : Entry;
    private sealed record Finished(ChildCompleted Result, bool KeepResult) : Entry;
    private sealed record Lost(string Reason) : Entry;

    private sealed record RetentionElapsed(int Pid);

    /// <summary>A guest-exec-kill waiting for the reaper's answer.</summary>
    private sealed record PendingKill(long Seq, IActorRef ReplyTo, long Signal);

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly ExecSettings _settings;
    private readonly IActorRef _reaper;
    private readonly Dictionary<IActorRef, Starting> _starting = new();
    private readonly Dictionary<IActorRef, int> _pidOfOwner = new();
    private readonly Dictionary<int, Entry> _entries = new();
    private long _spawned;
    private readonly Dictionary<long, PendingKill> _kills = new();
    private long _killTag;

    public ITimerScheduler Timers { get; set; } = null!;

    public ExecActor(ExecSettings settings, IActorRef reaper)
    {
        _settings = settings;
        _reaper = reaper;
        Receive<Execute>(OnExecute);
        Receive<ChildStarted>(OnStarted);
        Receive<ChildSpawnFailed>(OnSpawnFailed);
        Receive<ChildCompleted>(OnCompleted);
        Receive<ChildLost>(l => SetLost(l.Pid, l.Reason));
        Receive<Terminated>(OnOwnerTerminated);
        Receive<GroupSignalled>(OnGroupSignalled);
        Receive<RetentionElapsed>(r =>
        {
            if (_entries.GetValueOrDefault(r.Pid) is Finished) _entries.Remove(r.Pid);
        });
    }

    /// <summary>A process owner is never restarted: that would run the command a second time.</summary>
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(_ => Directive.Stop);

    private void OnExecute(Execute cmd)
    {
        try
        {
            switch (cmd.Command)
            {
                case "guest-exec": Start(cmd); return;
                case "guest-exec-status": Sender.Tell(new CommandSucceeded(cmd.Seq, Status(cmd.Arguments.Int("pid")))); return;
                case KillCommand: Kill(cmd); return;
                case AckCommand: Sender.Tell(new CommandSucceeded(cmd.Seq, Acknowledge(cmd.Arguments.Int("pid")))); return;
                default:
                    Sender.Tell(new CommandFailed(cmd.Seq, QmpError.NotFound($"The command {cmd.Command} has not been found")));
                    return;
            }
        }
        catch (CommandException ex)
        {
            Sender.Tell(CommandFailed.Generic(cmd.Seq, ex.Message));
        }
    }

    private void Start(Execute cmd)
    {
        var args = cmd.Arguments;
        var path = args.String("path");
        var arguments = args.OptStrings("arg") ?? [];
        var environment = args.OptStrings("env");
        _log.Info("guest-exec called: \"{0}\"", string.Join(' ', new[] { path }.Concat(arguments)));

        byte[]? input = null;
        if (args.OptString("input-data") is { } inputData)
            input = LenientBase64.Decode(inputData) ?? throw new CommandException(LenientBase64.InvalidCharacters);
        var (stdout, stderr) = CaptureModes(args["capture-output"]);

        TimeSpan? timeout = null;
        if (args.OptNumber(TimeoutArgument) is { } seconds)
        {
            if (!(seconds > 0 && seconds <= TimeSpan.MaxValue.TotalSeconds / 2))
                throw new CommandException($"value '{seconds.ToString(CultureInfo.InvariantCulture)}' is invalid for argument {TimeoutArgument}");
            timeout = TimeSpan.FromSeconds(seconds);
        }
        var workingDirectory = args.OptString(WorkingDirectoryArgument);
        if (workingDirectory is not null && !Directory.Exists(workingDirectory))
            throw new CommandException($"Failed to change to directory “{workingDirectory}” (No such file or directory)");

        var program = path;
        if (environment is not null && !path.Contains('/'))
        {
            program = ExecutableSearch.Find(path, ExecutableSearch.SearchPath(environment), out var errno)
                      ?? throw new CommandException(SpawnFailure(path, Native.StrError(errno)));
        }

        var spec = new SpawnSpec(program, arguments, environment, workingDirectory, input, stdout, stderr,
            _settings.OutputLimit, timeout);
        var owner = Context.ActorOf(ChildProcess.Props(spec, _reaper), $"exec-{++_spawned}");
        Context.Watch(owner);
        _starting[owner] = new Starting(cmd.Seq, Sender, path, args.OptBool(KeepResultArgument) ?? false);
    }

    /// <summary>capture-output: a bool (true = both streams) or a GuestExecCaptureOutputMode name.</summary>
    private static (OutputMode Stdout, OutputMode Stderr) CaptureModes(JsonValue? capture) => capture switch
    {
        null or JsonBool { Value: false } or JsonString { Value: "none" } => (OutputMode.Discard, OutputMode.Discard),
        JsonBool { Value: true } or JsonString { Value: "separated" } => (OutputMode.Capture, OutputMode.Capture),
        JsonString { Value: "stdout" } => (OutputMode.Capture, OutputMode.Discard),
        JsonString { Value: "stderr" } => (OutputMode.Discard, OutputMode.Capture),
        JsonString { Value: "merged" } => (OutputMode.Capture, OutputMode.MergeIntoStdout),
        _ => throw new InvalidOperationException($"capture-output {capture} passed schema validation"),
    };

    /// <summary>glib's text, which qemu-ga HEAD passes through unchanged (the quotes are U+201C/U+201D).</summary>
    private static string SpawnFailure(string path, string reason) => $"Failed to execute child process “{path}” ({reason})";

    private void OnStarted(ChildStarted started)
    {
        if (!_starting.Remove(Sender, out var request)) return;
        if (_entries.ContainsKey(started.Pid))
            _log.Warning("pid {0} was reused while an unread guest-exec result still had it; that result is dropped", started.Pid);
        _entries[started.Pid] = new Running(Sender, request.KeepResult);
        _pidOfOwner[Sender] = started.Pid;
        request.ReplyTo.Tell(new CommandSucceeded(request.Seq, JsonObject.Of(("pid", new JsonInt(started.Pid)))));
    }

    private void OnSpawnFailed(ChildSpawnFailed failed)
    {
        if (!_starting.Remove(Sender, out var request)) return;
        request.ReplyTo.Tell(CommandFailed.Generic(request.Seq, SpawnFailure(request.Path, failed.Message)));
    }

    private void OnCompleted(ChildCompleted completed)
    {
        _pidOfOwner.Remove(Sender);
        if (_entries.GetValueOrDefault(completed.Pid) is not Running running) return;
        _entries[completed.Pid] = new Finished(completed, running.KeepResult);
        if (running.KeepResult)
            Timers.StartSingleTimer(("retention", completed.Pid), new RetentionElapsed(completed.Pid), _settings.StatusRetention);
    }

    /// <summary>An owner that stops before reporting crashed (its PostStop killed the process group).</summary>
    private void OnOwnerTerminated(Terminated t)
    {
        if (_starting.Remove(t.ActorRef, out var request))
        {
            request.ReplyTo.Tell(CommandFailed.Generic(request.Seq, SpawnFailure(request.Path, "the process owner failed; see the agent log")));
            return;
        }
        if (_pidOfOwner.Remove(t.ActorRef, out var pid))
            SetLost(pid, "the process owner failed and killed the process; see the agent log");
    }

    private void SetLost(int pid, string reason)
    {
        if (_entries.GetValueOrDefault(pid) is Running) _entries[pid] = new Lost(reason);
    }

    private JsonValue Status(long pid)
    {
        _log.Info("guest-exec-status called, pid: {0}", pid);
        switch (Find(pid))
        {
            case Running:
                return JsonObject.Of(("exited", JsonBool.False));
            case Lost lost:
                _entries.Remove((int)pid);
                throw new CommandException($"PID {pid}: {lost.Reason}");
            case Finished finished:
                if (!finished.KeepResult) _entries.Remove((int)pid);
                return Report(finished.Result);
            default:
                throw new InvalidOperationException("unknown entry");
        }
    }

    /// <summary>GuestExecStatus in schema order; *-truncated only next to its data, as HEAD and Debian 7.2.22 do.</summary>
    private static JsonObject Report(ChildCompleted r)
    {
        var hasOut = r.Stdout.Length > 0;
        var hasErr = r.Stderr.Length > 0;
        return JsonObject.Of(
            ("exited", JsonBool.True),
            ("exitcode", r.ExitCode is { } code ? new JsonInt(code) : null),
            ("signal", r.Signal is { } signal ? new JsonInt(signal) : null),
            ("out-data", hasOut ? new JsonString(LenientBase64.Encode(r.Stdout)) : null),
            ("err-data", hasErr ? new JsonString(LenientBase64.Encode(r.Stderr)) : null),
            ("out-truncated", hasOut ? JsonBool.Of(r.StdoutTruncated) : null),
            ("err-truncated", hasErr ? JsonBool.Of(r.StderrTruncated) : null),
            (TimedOutMember, r.TimedOut ? JsonBool.True : null));
    }

    /// <summary>
    /// Signals the whole process group (the child leads its own session), SIGKILL unless told. The
    /// reaper sends it, only while it still holds the leader unreaped, so the pid and group id cannot
    /// belong to anyone else; the answer comes back as <see cref="GroupSignalled"/>.
    /// </summary>
    private void Kill(Execute cmd)
    {
        var pid = cmd.Arguments.Int("pid");
        var signal = cmd.Arguments.OptInt("signal") ?? Native.SIGKILL;
        if (Find(pid) is not Running)
            throw new CommandException($"PID {pid} has already exited");
        if (signal is < 0 or > 64)
            throw new CommandException($"value '{signal}' is invalid for argument signal");
        _kills[++_killTag] = new PendingKill(cmd.Seq, Sender, signal);
        _reaper.Tell(new SignalGroup((int)pid, (int)signal, _killTag));
    }

    private void OnGroupSignalled(GroupSignalled result)
    {
        if (!_kills.Remove(result.Tag, out var kill)) return;
        kill.ReplyTo.Tell(result.Errno switch
        {
            0 => new CommandSucceeded(kill.Seq, JsonObject.Empty),
            Native.ESRCH => CommandFailed.Generic(kill.Seq, $"PID {result.Pid} has already exited"),
            var errno => CommandFailed.Generic(kill.Seq, $"failed to send signal {kill.Signal} to PID {result.Pid}: {Native.StrError(errno)}"),
        });
    }

    private JsonValue Acknowledge(long pid)
    {
        if (Find(pid) is Running)
            throw new CommandException($"PID {pid} has not exited yet");
        _entries.Remove((int)pid);
        Timers.Cancel(("retention", (int)pid));
        return JsonObject.Empty;
    }

    private Entry Find(long pid) =>
        pid is > 0 and <= int.MaxValue && _entries.TryGetValue((int)pid, out var entry)
            ? entry
            : throw new CommandException($"PID {pid} does not exist");
}
