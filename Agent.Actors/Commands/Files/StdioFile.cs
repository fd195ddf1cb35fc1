using System.Runtime.InteropServices;
using Agent.Actors.Platform;
using F = Agent.Actors.Platform.Native.Files;

namespace Agent.Actors.Commands.Files;

/// <summary>
/// One guest file with the behaviour qemu-ga's <c>FILE*</c> shows through guest-file-* (qga/commands-posix.c, qmp_guest_file_read/write).
/// It works on the raw fd without a buffer. That is exact for what a client can observe, because
/// qemu-ga flushes when switching from writing to reading, seeks when switching from reading to
/// writing and calls clearerr after every call: fread(n) then reads until n bytes or a read(2)
/// returning 0 (that is feof), fwrite until all bytes or an error, and ftell after fseek is lseek's
/// result. What differs is only when glibc's buffer meets a pipe (a write reaching the pipe at the
/// next flush rather than at once); this class writes at once and never loses buffered data.
/// </summary>
internal sealed class StdioFile : IDisposable
{
    /// <summary>fopen modes qemu-ga accepts (exact strings) and the open(2) flags each one means.</summary>
    private static readonly Dictionary<string, int> Modes = new(StringComparer.Ordinal)
    {
        ["r"] = F.O_RDONLY, ["rb"] = F.O_RDONLY,
        ["w"] = F.O_WRONLY | F.O_CREAT | F.O_TRUNC, ["wb"] = F.O_WRONLY | F.O_CREAT | F.O_TRUNC,
        ["a"] = F.O_WRONLY | F.O_CREAT | F.O_APPEND, ["ab"] = F.O_WRONLY | F.O_CREAT | F.O_APPEND,
        ["r+"] = F.O_RDWR, ["rb+"] = F.O_RDWR, ["r+b"] = F.O_RDWR,
        ["w+"] = F.O_RDWR | F.O_CREAT | F.O_TRUNC, ["wb+"] = F.O_RDWR | F.O_CREAT | F.O_TRUNC, ["w+b"] = F.O_RDWR | F.O_CREAT | F.O_TRUNC,
        ["a+"] = F.O_RDWR | F.O_CREAT | F.O_APPEND, ["ab+"] = F.O_RDWR | F.O_CREAT | F.O_APPEND, ["a+b"] = F.O_RDWR | F.O_CREAT | F.O_APPEND,
    };

    /// <summary>New files get rw for everyone whatever the umask, as qemu-ga does.</summary>
    private const uint NewFileMode = 0x1B6; // 0666

    /// <summary>qemu-ga's per-handle state: the direction of the last successful call.</summary>
    private enum LastOperation { None, Read, Write }

    private readonly int _fd;
    private LastOperation _last;
    private bool _closed;

    private StdioFile(int fd) => _fd = fd;

    /// <summary>
    /// Opens like qemu-ga's safe_open_or_create: a creating mode first tries O_EXCL so that a file
    /// it really created can be chmod'ed 0666; an existing file is reopened without O_CREAT and keeps
    /// its permissions. O_NONBLOCK from the start keeps a FIFO from hanging the agent.
    /// </summary>
    public static StdioFile Open(string path, string mode)
    {
        if (!Modes.TryGetValue(mode, out var flags))
            throw new CommandException($"invalid file open mode '{mode}'");
        flags |= F.O_NOCTTY | F.O_NONBLOCK | F.O_CLOEXEC;

        var created = (flags & F.O_CREAT) != 0;
        var fd = Native.Open(path, created ? flags | F.O_EXCL : flags, NewFileMode);
        if (fd < 0 && created && Marshal.GetLastPInvokeError() == F.EEXIST)
        {
            created = false;
            fd = Native.Open(path, flags & ~F.O_CREAT, 0);
        }
        if (fd < 0)
            throw new CommandException($"failed to open file '{path}' (mode: '{mode}'): {LastError()}");

        if (created && Native.FChmod(fd, NewFileMode) != 0)
        {
            var error = LastError();
            Native.Close(fd);
            File.Delete(path);
            throw new CommandException($"failed to set permission 0666 on new file '{path}' (mode: '{mode}'): {error}");
        }
        return new StdioFile(fd);
    }

    /// <summary>
    /// fread(destination.Length): reads until the span is full or the file ends. <paramref name="eof"/>
    /// is feof after the call, so it is true when the end was hit even if data came back.
    /// </summary>
    public unsafe int Read(Span<byte> destination, out bool eof)
    {
        _last = LastOperation.None; // the implicit flush after a write: nothing is buffered, so it cannot fail
        eof = false;
        var total = 0;
        fixed (byte* start = destination)
        {
            while (total < destination.Length)
            {
                var n = Native.Read(_fd, start + total, destination.Length - total);
                if (n > 0) { total += (int)n; continue; }
                if (n == 0) { eof = true; break; }
                var errno = Marshal.GetLastPInvokeError();
                if (errno == F.EINTR) continue;
                // like fread: bytes read before the error are lost with it
                throw new CommandException($"failed to read file: {Native.StrError(errno)}");
            }
        }
        _last = LastOperation.Read;
        return total;
    }

    /// <summary>qemu-ga's fseek(0, SEEK_CUR) before writing after a read; it fails on pipes.</summary>
    public void PrepareWrite()
    {
        if (_last != LastOperation.Read) return;
        if (Native.LSeek(_fd, 0, F.SEEK_CUR) < 0)
            throw new CommandException($"failed to seek file: {LastError()}");
        _last = LastOperation.None;
    }

    /// <summary>fwrite: writes all of <paramref name="data"/> or fails; an a/a+ file appends (O_APPEND).</summary>
    public unsafe int Write(ReadOnlySpan<byte> data)
    {
        var total = 0;
        fixed (byte* start = data)
        {
            while (total < data.Length)
            {
                var n = Native.Write(_fd, start + total, data.Length - total);
                if (n >= 0) { total += (int)n; continue; }
                var errno = Marshal.GetLastPInvokeError();
                if (errno == F.EINTR) continue;
                throw new CommandException($"failed to write to file: {Native.StrError(errno)}");
            }
        }
        _last = LastOperation.Write;
        return total;
    }

    /// <summary>fseek then ftell. An unseekable file resets the state, as qemu-ga does on ESPIPE.</summary>
    public long Seek(long offset, int whence)
    {
        var position = Native.LSeek(_fd, offset, whence);
        if (position < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            if (errno == F.ESPIPE) _last = LastOperation.None;
            throw new CommandException($"failed to seek file: {Native.StrError(errno)}");
        }
        _last = LastOperation.None;
        return position;
    }

    /// <summary>fflush: every write already reached the kernel, so only the state resets.</summary>
    public void Flush() => _last = LastOperation.None;

    /// <summary>fclose. Linux releases the fd even when close reports an error.</summary>
    public void Close()
    {
        _closed = true;
        if (Native.Close(_fd) != 0)
            throw new CommandException($"failed to close handle: {LastError()}");
    }

    public void Dispose()
    {
        if (!_closed)
        {
            _closed = true;
            Native.Close(_fd);
        }
    }

    private static string LastError() => Native.StrError(Marshal.GetLastPInvokeError());
}
