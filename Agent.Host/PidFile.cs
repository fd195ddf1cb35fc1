using System.Runtime.InteropServices;
using Agent.Actors.Platform;

namespace Agent.Host;

/// <summary>
/// The pidfile of a daemonized agent (util/oslib-posix.c, qemu_write_pidfile): mode 0600, "&lt;pid&gt;\n", held under an fcntl write
/// lock for the agent's life (readers are not blocked; a second instance fails with
/// "Cannot lock pid file"), removed on exit.
/// </summary>
public sealed class PidFile : IDisposable
{
    private readonly string _path;
    private readonly int _fd;

    private PidFile(string path, int fd)
    {
        _path = path;
        _fd = fd;
    }

    /// <summary>Creates and locks it; throws <see cref="IOException"/> with qemu-ga's texts.</summary>
    public static unsafe PidFile Create(string path)
    {
        var fd = Native.Open(path, Native.O_WRONLY | Native.O_CREAT | Native.O_CLOEXEC, 0x180 /* 0600 */);
        if (fd < 0)
            throw new IOException($"Cannot open pid file, {Native.StrError(Marshal.GetLastPInvokeError())}");
        var lockRequest = new Native.Flock { Type = Native.F_WRLCK, Whence = 0 };
        if (Native.fcntl(fd, Native.F_SETLK, ref lockRequest) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            Native.Close(fd);
            throw new IOException($"Cannot lock pid file, {Native.StrError(errno)}");
        }
        var text = System.Text.Encoding.ASCII.GetBytes($"{Environment.ProcessId}\n");
        Native.ftruncate(fd, 0);
        fixed (byte* p = text)
        {
            if (Native.Write(fd, p, text.Length) != text.Length)
            {
                Native.Close(fd);
                File.Delete(path);
                throw new IOException("Failed to write pid file");
            }
        }
        return new PidFile(path, fd);
    }

    public void Dispose()
    {
        File.Delete(_path);
        Native.Close(_fd);
    }
}
