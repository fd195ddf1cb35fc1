using Agent.Actors.Platform;
using Agent.Actors.Settings;
using System.Buffers;
using Agent.Actors.State;
using Agent.Protocol.Encoding;
using Akka.Event;
using F = Agent.Actors.Platform.Native.Files;

namespace Agent.Actors.Commands.Files;

/// <summary>
/// guest-file-open/close/read/write/seek/flush (qga/commands-posix.c, qmp_guest_file_open and friends). The one owner of the handle table and
/// of the handle counter in qga.state: a handle is the counter's value at open, and the counter is
/// committed to disk before the handle is handed out, so no handle is ever reused across restarts.
/// Handles are global: they outlive client connections, and are closed only by guest-file-close
/// or when the agent stops.
/// Every open, read, write, seek and close runs on a <see cref="BlockingCallThreads"/> thread (a file on
/// a hung NFS or FUSE mount must not stop the actor), one call per file at a time in arrival order;
/// the result comes back through PipeTo(Self), where the handle table changes and the reply is sent.
/// So the actor itself never blocks, and reference.conf deploys it on the event loop.
/// </summary>
public sealed class FileHandlesActor : CommandActor
{
    public const int DefaultReadCount = 4096;

    /// <summary>Keeps a read's base64 (x 4/3) under the 64 MiB JSON limit.</summary>
    public const long MaxReadCount = 48L * 1024 * 1024;

    public static readonly CommandFamily Family = CommandFamily.Of<GuestFileOpenArguments, GuestFileCloseArguments,
        GuestFileReadArguments, GuestFileWriteArguments, GuestFileSeekArguments, GuestFileFlushArguments>("files", ctx => Props(ctx.Settings.StateDir, ctx.Settings.Files));

    public static Akka.Actor.Props Props(string stateDir, FilesSettings settings) =>
        ActorConstructor.Props(() => new FileHandlesActor(stateDir, settings));

    private readonly string _stateDir;
    private readonly FilesSettings _settings;
    private readonly Dictionary<long, StdioFile> _handles = new();
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly BlockingCallThreads _threads = new("guest-file", maxIdle: 2);

    /// <summary>Files with a call running, and the calls queued behind it.</summary>
    private readonly Dictionary<StdioFile, Queue<FileCall>> _busy = new();

    /// <summary>Opens running (they count against max-open-handles until they end).</summary>
    private int _opening;

    /// <summary>
    /// A command's blocking part (<paramref name="Run"/>, off the actor, on <paramref name="File"/> if
    /// any) and what turns its result into the reply, back on the actor.
    /// </summary>
    private sealed record FileCall(long Seq, IActorRef ReplyTo, StdioFile? File, Func<object> Run, Func<object, JsonValue> Finish);

    private sealed record FileCallDone(FileCall Call, object? Result, Exception? Error);

    /// <summary>
    /// The next handle; null while qga.state cannot be read, which then fails every open. Opens take
    /// and commit it on their blocking-call threads (the commit fsyncs), under this lock.
    /// </summary>
    private PersistentState? _state;
    private string _stateError = "";
    private readonly object _stateLock = new();

    /// <summary>An open's result: the file and the handle committed for it.</summary>
    private sealed record Opened(StdioFile File, long Handle);

    public FileHandlesActor(string stateDir, FilesSettings settings)
    {
        _stateDir = stateDir;
        _settings = settings;
        HandleLater<GuestFileOpenArguments>((cmd, a) => Start(cmd, () => Open(a)));
        HandleLater<GuestFileCloseArguments>((cmd, a) => Start(cmd, () => Close(a)));
        HandleLater<GuestFileReadArguments>((cmd, a) => Start(cmd, () => Read(a, cmd.ReturnBudget)));
        HandleLater<GuestFileWriteArguments>((cmd, a) => Start(cmd, () => Write(a)));
        HandleLater<GuestFileSeekArguments>((cmd, a) => Start(cmd, () => Seek(a)));
        HandleLater<GuestFileFlushArguments>((cmd, a) => Start(cmd, () => Flush(a)));
    }

    protected override void OnMessage(object message)
    {
        if (message is FileCallDone done) Finished(done);
        else Unhandled(message);
    }

    /// <summary>Prepares a call on the actor (handle lookup, checks) and queues its blocking part on the file.</summary>
    private void Start(Execute cmd, Func<(StdioFile?, Func<object>, Func<object, JsonValue>)> prepare)
    {
        try
        {
            var (file, run, finish) = prepare();
            Run(new FileCall(cmd.Seq, Sender, file, run, finish));
        }
        catch (Exception ex)
        {
            Sender.Tell(CommandFailed.Generic(cmd.Seq, CommandErrors.Innermost(ex).Message));
        }
    }

    private void Run(FileCall call)
    {
        if (call.File is { } file)
        {
            if (_busy.TryGetValue(file, out var waiting))
            {
                waiting.Enqueue(call);
                return;
            }
            _busy.Add(file, new Queue<FileCall>());
        }
        Begin(call);
    }

    private void Begin(FileCall call) =>
        _threads.Run(call.Run).PipeTo(Self,
            success: result => new FileCallDone(call, result, null),
            failure: ex => new FileCallDone(call, null, ex));

    private void Finished(FileCallDone done)
    {
        var call = done.Call;
        if (call.File is null) _opening--; // only opens run without a file
        try
        {
            if (done.Error is { } error) throw error;
            call.ReplyTo.Tell(new CommandSucceeded(call.Seq, call.Finish(done.Result!)));
        }
        catch (Exception ex)
        {
            call.ReplyTo.Tell(CommandFailed.Generic(call.Seq, CommandErrors.Innermost(ex).Message));
        }
        if (call.File is { } file && _busy.Remove(file, out var waiting) && waiting.TryDequeue(out var next))
        {
            _busy.Add(file, waiting);
            Begin(next);
        }
    }

    protected override void PreStart()
    {
        lock (_stateLock)
        {
            try
            {
                _state = PersistentState.LoadOrCreate(_stateDir);
            }
            catch (PersistentStateException ex)
            {
                _stateError = ex.Message;
                _log.Error(ex, "{0}: {1}", ex.Message, PersistentState.PathIn(_stateDir));
            }
        }
    }

    /// <summary>Also runs before a restart, so a crashed actor never leaks descriptors.</summary>
    protected override void PostStop()
    {
        foreach (var file in _handles.Values) file.Dispose();
        _handles.Clear();
        _threads.Dispose();
    }

    private (StdioFile?, Func<object>, Func<object, JsonValue>) Open(GuestFileOpenArguments args)
    {
        var path = args.Path;
        var mode = args.Mode ?? "r";
        _log.Info("guest-file-open called, filepath: {0}, mode: {1}", path, mode);
        if (_handles.Count + _opening >= _settings.MaxOpenHandles)
            throw new CommandException($"too many open files: agent.files.max-open-handles ({_settings.MaxOpenHandles}) reached");

        _opening++;
        return (null, () => Commit(StdioFile.Open(path, mode)), opened => Add((Opened)opened));
    }

    /// <summary>Takes the next handle for an opened file and commits the counter to qga.state (blocking-call thread).</summary>
    private Opened Commit(StdioFile file)
    {
        lock (_stateLock)
        {
            if (_state is null)
            {
                file.Dispose();
                throw new CommandException(_stateError);
            }
            var handle = _state.FdCounter;
            // like qemu-ga, the counter moves on even when the commit fails: that number is simply never used
            _state = new PersistentState(handle + 1);
            try
            {
                _state.Save(_stateDir);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                file.Dispose();
                _log.Error(ex, "cannot write {0}", PersistentState.PathIn(_stateDir));
                throw new CommandException("failed to commit persistent state to disk");
            }
            return new Opened(file, handle);
        }
    }

    private JsonValue Add(Opened opened)
    {
        _handles.Add(opened.Handle, opened.File);
        _log.Info("guest-file-open, handle: {0}", opened.Handle);
        return new JsonInt(opened.Handle);
    }

    /// <summary>The handle is gone at once; close(2) runs after the calls queued on the file.</summary>
    private (StdioFile?, Func<object>, Func<object, JsonValue>) Close(GuestFileCloseArguments args)
    {
        var handle = args.Handle;
        _log.Info("guest-file-close called, handle: {0}", handle);
        var file = Find(handle);
        _handles.Remove(handle);
        return (file, () =>
        {
            file.Close();
            return JsonObject.Empty;
        }, closed => (JsonValue)closed);
    }

    /// <summary>
    /// count is a maximum (qemu-ga's fread may return less), so a read whose reply would exceed
    /// agent.channel.max-reply-bytes reads only what fits; the next read goes on from there.
    /// </summary>
    private (StdioFile?, Func<object>, Func<object, JsonValue>) Read(GuestFileReadArguments args, long budget)
    {
        var file = Find(args.Handle);
        var count = args.Count ?? DefaultReadCount;
        if (count < 0 || count > MaxReadCount)
            throw new CommandException($"value '{count}' is invalid for argument count");
        var fits = ReadReply.MaxBytes(budget);
        if (count > 0 && fits == 0) throw new CommandException(ReadReply.NoRoom);
        count = Math.Min(count, fits);

        return (file, () =>
        {
            var buffer = ArrayPool<byte>.Shared.Rent((int)count);
            try
            {
                var read = file.Read(buffer.AsSpan(0, (int)count), out var eof);
                // The reply holds the bytes until it is written (encoded straight into the reply line).
                return ReadReply.Of(buffer.AsSpan(0, read).ToArray(), eof);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }, reply => (JsonValue)reply);
    }

    private (StdioFile?, Func<object>, Func<object, JsonValue>) Write(GuestFileWriteArguments args)
    {
        var file = Find(args.Handle);
        var text = args.BufB64;
        var requested = args.Count;
        return (file, () =>
        {
            file.PrepareWrite(); // qemu-ga seeks before it even looks at the data
            var data = LenientBase64.Decode(text) ?? throw new CommandException(LenientBase64.InvalidCharacters);
            var count = requested ?? data.Length;
            if (count < 0 || count > data.Length)
                throw new CommandException($"value '{count}' is invalid for argument count");

            var written = file.Write(data.AsSpan(0, (int)count));
            return JsonObject.Of(("count", new JsonInt(written)), ("eof", JsonBool.False));
        }, reply => (JsonValue)reply);
    }

    private (StdioFile?, Func<object>, Func<object, JsonValue>) Seek(GuestFileSeekArguments args)
    {
        var file = Find(args.Handle);
        var offset = args.Offset;
        var whence = Whence(args.Whence);
        return (file, () =>
        {
            var position = file.Seek(offset, whence);
            return JsonObject.Of(("position", new JsonInt(position)), ("eof", JsonBool.False)); // GuestFileSeek order; the writer emits QDict order
        }, reply => (JsonValue)reply);
    }

    /// <summary>No system call, but it runs in the file's turn: it resets the state a queued call may change.</summary>
    private (StdioFile?, Func<object>, Func<object, JsonValue>) Flush(GuestFileFlushArguments args)
    {
        var file = Find(args.Handle);
        return (file, () =>
        {
            file.Flush();
            return JsonObject.Empty;
        }, reply => (JsonValue)reply);
    }

    /// <summary>GuestFileWhence: the enum names, or the integers 0/1/2 of the original int-only schema.</summary>
    private static int Whence(GuestFileWhence whence)
    {
        if (whence.Enum is { } name)
            return name switch
            {
                "set" => F.SEEK_SET,
                "cur" => F.SEEK_CUR,
                "end" => F.SEEK_END,
                _ => throw new InvalidOperationException($"whence '{name}' passed schema validation"),
            };
        var code = whence.Int!.Value;
        return code switch
        {
            0 => F.SEEK_SET,
            1 => F.SEEK_CUR,
            2 => F.SEEK_END,
            _ => throw new CommandException($"invalid whence code {code}"),
        };
    }

    private StdioFile Find(long handle) =>
        _handles.TryGetValue(handle, out var file) ? file : throw new CommandException($"handle '{handle}' has not been found");
}
