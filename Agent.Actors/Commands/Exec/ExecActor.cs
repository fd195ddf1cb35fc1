using Agent.Actors.Settings;
using System.Globalization;
using Agent.Actors.Platform;
using Agent.Actors.Processes;
using Agent.Protocol.Encoding;
using Agent.Protocol.Envelope;
using Akka.Event;

namespace Agent.Actors.Commands.Exec;

/// <summary>
/// guest-exec and guest-exec-status with qemu-ga HEAD semantics (qga/commands.c, qmp_guest_exec and qmp_guest_exec_status), plus ActorAgent's
/// downstream extensions (QAPI's <c>__RFQDN_name</c> rule): a timeout that kills the process group,
/// an explicit kill, a working directory, and results kept until acknowledged.
/// Each process is owned by one <see cref="ChildProcess"/> child; this actor keeps the status table,
/// keyed by pid, from the spawn until the result has been handed out.
/// </summary>
public sealed class ExecActor : CommandActor, IWithTimers
{
    /// <summary>QAPI's downstream prefix for names ActorAgent adds to the qga schema.</summary>
    public const string Downstream = "__org.actoragent_";

    public const string TimeoutArgument = Downstream + "timeout";
    public const string WorkingDirectoryArgument = Downstream + "working-directory";
    public const string KeepResultArgument = Downstream + "keep-result";
    public const string TimedOutMember = Downstream + "timed-out";
    public const string OutRemainingMember = Downstream + "out-remaining";
    public const string ErrRemainingMember = Downstream + "err-remaining";

    public static readonly CommandFamily Family = CommandFamily.Of<GuestExecArguments, GuestExecStatusArguments,
        GuestExecKillArguments, GuestExecAckArguments, GuestExecReadOutputArguments>("exec", ctx => Props(ctx.Settings.Exec, ctx.Reaper));

    public static Akka.Actor.Props Props(ExecSettings settings, IActorRef reaper) =>
        ActorConstructor.Props(() => new ExecActor(settings, reaper));

    /// <summary>A guest-exec waiting for its child to report the spawn.</summary>
    private sealed record Starting(long Seq, IActorRef ReplyTo, string Path, bool KeepResult);

    /// <summary>A row of the status table.</summary>
    private abstract record Entry;
    private sealed record Running(IActorRef Owner, bool KeepResult) : Entry;
    /// <param name="Reported">An exited:true status has been sent.</param>
    /// <param name="OutRead">Leading bytes of stdout the host has been sent (by status or read-output).</param>
    private sealed record Finished(ChildCompleted Result, bool KeepResult, bool Reported = false, int OutRead = 0, int ErrRead = 0) : Entry
    {
        public long Bytes => Result.Stdout.Length + Result.Stderr.Length;
        public bool AllRead => Reported && OutRead == Result.Stdout.Length && ErrRead == Result.Stderr.Length;
    }
    private sealed record Lost(string Reason) : Entry;

    /// <summary>A finished result's time is up: unread-expiry, or status-retention once read in full.</summary>
    private sealed record ResultExpired(int Pid);

    /// <summary>A guest-exec-kill waiting for the reaper's answer.</summary>
    private sealed record PendingKill(long Seq, IActorRef ReplyTo, long Signal);

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly ExecSettings _settings;
    private readonly IActorRef _reaper;
    private readonly Dictionary<IActorRef, Starting> _starting = new();
    private readonly Dictionary<IActorRef, int> _pidOfOwner = new();
    private readonly Dictionary<int, Entry> _entries = new();
    private long _spawned;
    // Kept in step with _entries by Put and Drop, for the caps.
    private int _running;
    private int _finished;
    private long _resultBytes;
    private readonly Dictionary<long, PendingKill> _kills = new();
    private long _killTag;

    public ITimerScheduler Timers { get; set; } = null!;

    public ExecActor(ExecSettings settings, IActorRef reaper)
    {
        _settings = settings;
        _reaper = reaper;
        HandleLater<GuestExecArguments>(Start);
        HandleBounded<GuestExecStatusArguments>((a, budget) => Status(a.Pid, budget));
        HandleBounded<GuestExecReadOutputArguments>(ReadOutput);
        HandleLater<GuestExecKillArguments>(Kill);
        Handle<GuestExecAckArguments>(a => Acknowledge(a.Pid));
    }

    protected override void OnMessage(object message)
    {
        switch (message)
        {
            case ChildStarted started: OnStarted(started); break;
            case ChildSpawnFailed failed: OnSpawnFailed(failed); break;
            case ChildCompleted completed: OnCompleted(completed); break;
            case ChildLost lost: SetLost(lost.Pid, lost.Reason); break;
            case Terminated terminated: OnOwnerTerminated(terminated); break;
            case GroupSignalled signalled: OnGroupSignalled(signalled); break;
            case ResultExpired expired: OnResultExpired(expired); break;
            default: Unhandled(message); break;
        }
    }

    /// <summary>A process owner is never restarted: that would run the command a second time.</summary>
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(_ => Directive.Stop);

    private void OnResultExpired(ResultExpired r)
    {
        if (_entries.GetValueOrDefault(r.Pid) is not Finished finished) return;
        if (!finished.AllRead)
            _log.Warning("guest-exec result of pid {0} dropped unread after agent.exec.unread-expiry ({1})", r.Pid, _settings.UnreadExpiry);
        Drop(r.Pid);
    }

    private void Start(Execute cmd, GuestExecArguments args)
    {
        var path = args.Path;
        var arguments = args.Arg ?? [];
        var environment = args.Env;
        _log.Info("guest-exec called: \"{0}\"", string.Join(' ', new[] { path }.Concat(arguments)));

        byte[]? input = null;
        if (args.InputData is { } inputData)
            input = LenientBase64.Decode(inputData) ?? throw new CommandException(LenientBase64.InvalidCharacters);
        var (stdout, stderr) = CaptureModes(args.CaptureOutput);

        TimeSpan? timeout = null;
        if (args.Timeout is { } seconds)
        {
            if (!(seconds > 0 && seconds <= TimeSpan.MaxValue.TotalSeconds / 2))
                throw new CommandException($"value '{seconds.ToString(CultureInfo.InvariantCulture)}' is invalid for argument {TimeoutArgument}");
            timeout = TimeSpan.FromSeconds(seconds);
        }
        var workingDirectory = args.WorkingDirectory;
        if (workingDirectory is not null && !Directory.Exists(workingDirectory))
            throw new CommandException($"Failed to change to directory “{workingDirectory}” (No such file or directory)");

        var program = path;
        if (environment is not null && !path.Contains('/'))
        {
            program = ExecutableSearch.Find(path, ExecutableSearch.SearchPath(environment), out var errno)
                      ?? throw new CommandException(SpawnFailure(path, Native.StrError(errno)));
        }

        Admit();
        var spec = new SpawnSpec(program, arguments, environment, workingDirectory, input, stdout, stderr,
            _settings.OutputLimit, timeout);
        var owner = Context.ActorOf(ChildProcess.Props(spec, _reaper), $"exec-{++_spawned}");
        Context.Watch(owner);
        _starting[owner] = new Starting(cmd.Seq, Sender, path, args.KeepResult ?? false);
    }

    /// <summary>The caps of agent.exec, checked before a spawn: a finished process cannot be refused its result.</summary>
    private void Admit()
    {
        if (_starting.Count + _running >= _settings.MaxRunning)
            throw new CommandException($"too many running processes: agent.exec.max-running ({_settings.MaxRunning}) reached");
        if (_finished >= _settings.MaxResults)
            throw new CommandException($"too many retained results: agent.exec.max-results ({_settings.MaxResults}) reached");
        if (_resultBytes >= _settings.MaxResultBytes)
            throw new CommandException($"retained results too large: agent.exec.max-result-bytes ({_settings.MaxResultBytes}) reached");
    }

    /// <summary>capture-output: a bool (true = both streams) or a GuestExecCaptureOutputMode name.</summary>
    private static (OutputMode Stdout, OutputMode Stderr) CaptureModes(GuestExecCaptureOutput? capture) => capture switch
    {
        null or { Bool: false } or { Enum: "none" } => (OutputMode.Discard, OutputMode.Discard),
        { Bool: true } or { Enum: "separated" } => (OutputMode.Capture, OutputMode.Capture),
        { Enum: "stdout" } => (OutputMode.Capture, OutputMode.Discard),
        { Enum: "stderr" } => (OutputMode.Discard, OutputMode.Capture),
        { Enum: "merged" } => (OutputMode.Capture, OutputMode.MergeIntoStdout),
        _ => throw new InvalidOperationException($"capture-output {capture} passed schema validation"),
    };

    /// <summary>glib's text, which qemu-ga HEAD passes through unchanged (the quotes are U+201C/U+201D).</summary>
    private static string SpawnFailure(string path, string reason) => $"Failed to execute child process “{path}” ({reason})";

    private void OnStarted(ChildStarted started)
    {
        if (!_starting.Remove(Sender, out var request)) return;
        if (_entries.ContainsKey(started.Pid))
            _log.Warning("pid {0} was reused while an unread guest-exec result still had it; that result is dropped", started.Pid);
        Put(started.Pid, new Running(Sender, request.KeepResult));
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
        Put(completed.Pid, new Finished(completed, running.KeepResult));
        Timers.StartSingleTimer(ExpiryKey(completed.Pid), new ResultExpired(completed.Pid), _settings.UnreadExpiry);
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
        if (_entries.GetValueOrDefault(pid) is Running) Put(pid, new Lost(reason));
    }

    private JsonValue Status(long pid, long budget)
    {
        _log.Info("guest-exec-status called, pid: {0}", pid);
        switch (Find(pid))
        {
            case Running:
                return JsonObject.Of(("exited", JsonBool.False));
            case Lost lost:
                Drop((int)pid);
                throw new CommandException($"PID {pid}: {lost.Reason}");
            case Finished finished:
                var (outShown, errShown) = Fit(finished.Result, budget);
                Sent((int)pid, finished with { Reported = true }, outShown, errShown);
                return Report(finished.Result, outShown, errShown);
            default:
                throw new InvalidOperationException("unknown entry");
        }
    }

    /// <summary>
    /// How many leading bytes of each stream the status reply can carry within <paramref name="budget"/>:
    /// all of both if they fit, else each stream up to half of the room (and what the other leaves).
    /// Every status of a result starts at offset 0, so a lost reply can be asked for again.
    /// </summary>
    private static (int Out, int Err) Fit(ChildCompleted r, long budget)
    {
        int outLength = (int)r.Stdout.Length, errLength = (int)r.Stderr.Length;
        long outText = Base64Text.Length(outLength), errText = Base64Text.Length(errLength);
        if (JsonWriter.Measure(Report(r, outLength, errLength, withData: false)) + outText + errText <= budget)
            return (outLength, errLength);

        var room = Math.Max(0, budget - JsonWriter.Measure(Report(r, 0, 0, withData: false, widest: true)));
        var half = room / 2;
        long outRoom, errRoom;
        if (outText <= half) (outRoom, errRoom) = (outText, room - outText);
        else if (errText <= half) (outRoom, errRoom) = (room - errText, errText);
        else (outRoom, errRoom) = (half, room - half);
        return ((int)Math.Min(outLength, Base64Text.MaxBytesIn(outRoom)), (int)Math.Min(errLength, Base64Text.MaxBytesIn(errRoom)));
    }

    /// <summary>
    /// GuestExecStatus in schema order; *-truncated only next to its data, as HEAD and Debian 7.2.22 do.
    /// A stream cut short by the reply limit is also marked truncated, and how many of its bytes are
    /// left for __org.actoragent_guest-exec-read-output follows the flags.
    /// Without <paramref name="withData"/> the data strings are empty, so the result measures the
    /// reply's frame; <paramref name="widest"/> makes every other member as long as it can be.
    /// </summary>
    private static JsonObject Report(ChildCompleted r, int outShown, int errShown, bool withData = true, bool widest = false)
    {
        var hasOut = r.Stdout.Length > 0;
        var hasErr = r.Stderr.Length > 0;
        long outLeft = r.Stdout.Length - outShown, errLeft = r.Stderr.Length - errShown;
        return JsonObject.Of(
            ("exited", JsonBool.True),
            ("exitcode", r.ExitCode is { } code ? new JsonInt(code) : null),
            ("signal", r.Signal is { } signal ? new JsonInt(signal) : null),
            ("out-data", hasOut ? (withData ? JsonString.Base64Of(r.Stdout.Slice(0, outShown)) : new JsonString("")) : null),
            ("err-data", hasErr ? (withData ? JsonString.Base64Of(r.Stderr.Slice(0, errShown)) : new JsonString("")) : null),
            ("out-truncated", hasOut ? JsonBool.Of(!widest && (r.StdoutTruncated || outLeft > 0)) : null),
            ("err-truncated", hasErr ? JsonBool.Of(!widest && (r.StderrTruncated || errLeft > 0)) : null),
            (OutRemainingMember, widest && hasOut ? new JsonInt(r.Stdout.Length) : outLeft > 0 ? new JsonInt(outLeft) : null),
            (ErrRemainingMember, widest && hasErr ? new JsonInt(r.Stderr.Length) : errLeft > 0 ? new JsonInt(errLeft) : null),
            (TimedOutMember, r.TimedOut ? JsonBool.True : null));
    }

    /// <summary>
    /// __org.actoragent_guest-exec-read-output: up to count bytes of one captured stream from offset,
    /// as much as fits in the reply when count is absent. The result stays until the host has been
    /// sent every byte of both streams.
    /// </summary>
    private JsonValue ReadOutput(GuestExecReadOutputArguments args, long budget)
    {
        var pid = args.Pid;
        var finished = Find(pid) switch
        {
            Finished f => f,
            Running => throw new CommandException($"PID {pid} has not exited yet"),
            Lost lost => throw new CommandException($"PID {pid}: {lost.Reason}"),
            _ => throw new InvalidOperationException("unknown entry"),
        };
        var isOut = args.Stream == "out";
        var data = isOut ? finished.Result.Stdout : finished.Result.Stderr;
        var offset = args.Offset;
        if (offset < 0 || offset > data.Length)
            throw new CommandException($"value '{offset}' is invalid for argument offset");
        var count = args.Count ?? data.Length - offset;
        if (count < 0)
            throw new CommandException($"value '{count}' is invalid for argument count");

        var fits = ReadReply.MaxBytes(budget);
        var length = (int)Math.Min(Math.Min(count, data.Length - offset), fits);
        if (length == 0 && count > 0 && offset < data.Length) throw new CommandException(ReadReply.NoRoom);

        var end = (int)offset + length;
        if (isOut) Sent((int)pid, finished, Extend(finished.OutRead, (int)offset, end), finished.ErrRead);
        else Sent((int)pid, finished, finished.OutRead, Extend(finished.ErrRead, (int)offset, end));
        return ReadReply.Of(data.Slice(offset, length), eof: end == data.Length);
    }

    /// <summary>The prefix the host has been sent grows only by a read that starts inside it.</summary>
    private static int Extend(int read, int offset, int end) => offset <= read ? Math.Max(read, end) : read;

    /// <summary>
    /// Records what the host has been sent of a result. Read in full, it goes (qemu-ga drops it at
    /// the first exited:true status) unless kept; else its expiry starts over.
    /// </summary>
    private void Sent(int pid, Finished finished, int outSent, int errSent)
    {
        var now = finished with { OutRead = Math.Max(finished.OutRead, outSent), ErrRead = Math.Max(finished.ErrRead, errSent) };
        if (now.AllRead && !now.KeepResult)
        {
            Drop(pid);
            return;
        }
        Put(pid, now);
        Timers.StartSingleTimer(ExpiryKey(pid), new ResultExpired(pid), now.AllRead ? _settings.StatusRetention : _settings.UnreadExpiry);
    }

    private static (string, int) ExpiryKey(int pid) => ("expiry", pid);

    /// <summary>Sets a row of the status table, keeping the counts the caps read in step.</summary>
    private void Put(int pid, Entry entry)
    {
        if (_entries.TryGetValue(pid, out var old)) Count(old, -1);
        _entries[pid] = entry;
        Count(entry, +1);
    }

    /// <summary>Removes a row of the status table and its expiry.</summary>
    private void Drop(int pid)
    {
        if (_entries.Remove(pid, out var old)) Count(old, -1);
        Timers.Cancel(ExpiryKey(pid));
    }

    private void Count(Entry entry, int sign)
    {
        switch (entry)
        {
            case Running: _running += sign; break;
            case Finished f: _finished += sign; _resultBytes += sign * f.Bytes; break;
        }
    }

    /// <summary>
    /// Signals the whole process group (the child leads its own session), SIGKILL unless told. The
    /// reaper sends it, only while it still holds the leader unreaped, so the pid and group id cannot
    /// belong to anyone else; the answer comes back as <see cref="GroupSignalled"/>.
    /// </summary>
    private void Kill(Execute cmd, GuestExecKillArguments args)
    {
        var pid = args.Pid;
        var signal = args.Signal ?? Native.SIGKILL;
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
        Drop((int)pid);
        return JsonObject.Empty;
    }

    private Entry Find(long pid) =>
        pid is > 0 and <= int.MaxValue && _entries.TryGetValue((int)pid, out var entry)
            ? entry
            : throw new CommandException($"PID {pid} does not exist");
}
