using Agent.Actors.Settings;
using System.Buffers;
using Agent.Actors.State;
using Agent.Protocol.Encoding;
using Agent.Protocol.Json;
using Agent.Protocol.Schema;
using Akka.Event;
using F = Agent.Actors.Platform.Native.Files;

namespace Agent.Actors.Commands.Files;

/// <summary>
/// guest-file-open/close/read/write/seek/flush (qga/commands-posix.c, qmp_guest_file_open and friends). The one owner of the handle table and
/// of the handle counter in qga.state: a handle is the counter's value at open, and the counter is
/// committed to disk before the handle is handed out, so no handle is ever reused across restarts.
/// Handles are global: they outlive client connections, and are closed only by guest-file-close
/// or when the agent stops.
/// </summary>
public sealed class FileHandlesActor : CommandActor
{
    public const int DefaultReadCount = 4096;

    /// <summary>Keeps a read's base64 (x 4/3) under the 64 MiB JSON limit.</summary>
    public const long MaxReadCount = 48L * 1024 * 1024;

    public static readonly CommandFamily Family = new(
        "files",
        ["guest-file-open", "guest-file-close", "guest-file-read", "guest-file-write", "guest-file-seek", "guest-file-flush"],
        ctx => Props(ctx.Settings.StateDir, ctx.Settings.Files));

    public static Akka.Actor.Props Props(string stateDir, FilesSettings settings) =>
        Akka.Actor.Props.Create(() => new FileHandlesActor(stateDir, settings));

    private readonly string _stateDir;
    private readonly FilesSettings _settings;
    private readonly Dictionary<long, StdioFile> _handles = new();
    private readonly ILoggingAdapter _log = Context.GetLogger();

    /// <summary>The next handle; null while qga.state cannot be read, which then fails every open.</summary>
    private PersistentState? _state;
    private string _stateError = "";

    public FileHandlesActor(string stateDir, FilesSettings settings)
    {
        _stateDir = stateDir;
        _settings = settings;
        Handle<GuestFileOpenArguments>(Open);
        Handle<GuestFileCloseArguments>(Close);
        HandleBounded<GuestFileReadArguments>(Read);
        Handle<GuestFileWriteArguments>(Write);
        Handle<GuestFileSeekArguments>(Seek);
        Handle<GuestFileFlushArguments>(Flush);
    }

    protected override void PreStart()
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

    /// <summary>Also runs before a restart, so a crashed actor never leaks descriptors.</summary>
    protected override void PostStop()
    {
        foreach (var file in _handles.Values) file.Dispose();
        _handles.Clear();
    }

    private JsonValue Open(GuestFileOpenArguments args)
    {
        var path = args.Path;
        var mode = args.Mode ?? "r";
        _log.Info("guest-file-open called, filepath: {0}, mode: {1}", path, mode);
        if (_handles.Count >= _settings.MaxOpenHandles)
            throw new CommandException($"too many open files: agent.files.max-open-handles ({_settings.MaxOpenHandles}) reached");

        var file = StdioFile.Open(path, mode);
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
        _handles.Add(handle, file);
        _log.Info("guest-file-open, handle: {0}", handle);
        return new JsonInt(handle);
    }

    private JsonValue Close(GuestFileCloseArguments args)
    {
        var handle = args.Handle;
        _log.Info("guest-file-close called, handle: {0}", handle);
        var file = Find(handle);
        _handles.Remove(handle);
        file.Close();
        return JsonObject.Empty;
    }

    /// <summary>
    /// count is a maximum (qemu-ga's fread may return less), so a read whose reply would exceed
    /// agent.channel.max-reply-bytes reads only what fits; the next read goes on from there.
    /// </summary>
    private JsonValue Read(GuestFileReadArguments args, long budget)
    {
        var file = Find(args.Handle);
        var count = args.Count ?? DefaultReadCount;
        if (count < 0 || count > MaxReadCount)
            throw new CommandException($"value '{count}' is invalid for argument count");
        var fits = ReadReply.MaxBytes(budget);
        if (count > 0 && fits == 0) throw new CommandException(ReadReply.NoRoom);
        count = Math.Min(count, fits);

        var buffer = ArrayPool<byte>.Shared.Rent((int)count);
        try
        {
            var read = file.Read(buffer.AsSpan(0, (int)count), out var eof);
            return ReadReply.Of(buffer.AsSpan(0, read), eof);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private JsonValue Write(GuestFileWriteArguments args)
    {
        var file = Find(args.Handle);
        file.PrepareWrite(); // qemu-ga seeks before it even looks at the data
        var data = LenientBase64.Decode(args.BufB64)
                   ?? throw new CommandException(LenientBase64.InvalidCharacters);
        var count = args.Count ?? data.Length;
        if (count < 0 || count > data.Length)
            throw new CommandException($"value '{count}' is invalid for argument count");

        var written = file.Write(data.AsSpan(0, (int)count));
        return JsonObject.Of(("count", new JsonInt(written)), ("eof", JsonBool.False));
    }

    private JsonValue Seek(GuestFileSeekArguments args)
    {
        var file = Find(args.Handle);
        var position = file.Seek(args.Offset, Whence(args.Whence));
        return JsonObject.Of(("position", new JsonInt(position)), ("eof", JsonBool.False)); // GuestFileSeek order; the writer emits QDict order
    }

    private JsonValue Flush(GuestFileFlushArguments args)
    {
        Find(args.Handle).Flush();
        return JsonObject.Empty;
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
