using System.Runtime.InteropServices;

namespace Agent.Actors.Platform;

/// <summary>libc calls for char-device channels (virtio-serial, isa-serial).</summary>
internal static partial class Native
{
    public const int O_RDWR = 0x2;
    public const int O_NOCTTY = 0x100;
    public const int O_NONBLOCK = 0x800;
    public const int O_CLOEXEC = 0x80000;

    public const int EINTR = 4;
    public const int EAGAIN = 11;

    public const short POLLIN = 0x1;
    public const short POLLOUT = 0x4;
    public const short POLLERR = 0x8;
    public const short POLLHUP = 0x10;
    public const short POLLNVAL = 0x20;

    public const int EFD_CLOEXEC = 0x80000;
    public const int EFD_NONBLOCK = 0x800;

    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Custom, StringMarshallingCustomType = typeof(OsStringMarshaller))]
    public static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    public static unsafe partial nint Read(int fd, byte* buffer, nint count);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    public static unsafe partial nint Write(int fd, byte* buffer, nint count);

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    public static unsafe partial int Poll(PollFd* fds, nuint count, int timeoutMs);

    [LibraryImport("libc", EntryPoint = "eventfd", SetLastError = true)]
    public static partial int EventFd(uint initial, int flags);

    /// <summary>glibc's struct termios on Linux (60 bytes).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public unsafe struct Termios
    {
        public uint Iflag;
        public uint Oflag;
        public uint Cflag;
        public uint Lflag;
        public byte Line;
        public fixed byte Cc[32];
        public uint Ispeed;
        public uint Ospeed;
    }

    public const int VTIME = 5;
    public const int VMIN = 6;
    public const int TCSANOW = 0;
    public const int TCIFLUSH = 0;

    [LibraryImport("libc", EntryPoint = "tcgetattr", SetLastError = true)]
    public static partial int TcGetAttr(int fd, out Termios termios);

    [LibraryImport("libc", EntryPoint = "tcsetattr", SetLastError = true)]
    public static partial int TcSetAttr(int fd, int optionalActions, in Termios termios);

    [LibraryImport("libc", EntryPoint = "tcflush", SetLastError = true)]
    public static partial int TcFlush(int fd, int queueSelector);

    public static string StrError(int errno) => Marshal.GetPInvokeErrorMessage(errno);
}

/// <summary>libc calls for the daemon's own files (umask, pidfile lock).</summary>
internal static partial class Native
{
    public const int O_CREAT = 0x40;
    public const int F_SETLK = 6;
    public const short F_WRLCK = 1;

    /// <summary>struct flock on x86-64 Linux.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct Flock
    {
        public short Type;
        public short Whence;
        public long Start;
        public long Len;
        public int Pid;
    }

    /// <summary>open(2) with a creation mode.</summary>
    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Custom, StringMarshallingCustomType = typeof(OsStringMarshaller))]
    public static partial int Open(string path, int flags, uint mode);

    [LibraryImport("libc", EntryPoint = "umask")]
    public static partial uint Umask(uint mask);

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    public static partial int fcntl(int fd, int command, ref Flock request);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int ftruncate(int fd, long length);
}
