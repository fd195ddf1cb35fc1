using System.Runtime.InteropServices;
using System.Text;

namespace Agent.Actors.Platform;

/// <summary>
/// Sockets as plain descriptors for the listening channels, the service manager's notifications and the audit trail's syslog.
/// Not System.Net.Sockets: its first Socket starts the runtime's socket engine, an epoll thread that
/// an agent polling its own descriptors never uses (bench/README.md, "Start-up share, round 3").
/// </summary>
internal static unsafe partial class Native
{
    public const int AF_UNIX = 1;
    public const int AF_VSOCK = 40;
    public const int SOCK_STREAM = 1;
    public const int SOCK_DGRAM = 2;
    public const int SOCK_NONBLOCK = 0x800;
    public const int SOCK_CLOEXEC = 0x80000;
    public const int SOL_SOCKET = 1;
    public const int SO_SNDBUF = 7;
    public const int SHUT_RDWR = 2;
    public const int MSG_NOSIGNAL = 0x4000;
    public const int ECONNABORTED = 103;

    [LibraryImport("libc", EntryPoint = "bind", SetLastError = true)]
    private static partial int Bind(int fd, byte* address, uint length);

    [LibraryImport("libc", EntryPoint = "listen", SetLastError = true)]
    private static partial int Listen(int fd, int backlog);

    [LibraryImport("libc", EntryPoint = "connect", SetLastError = true)]
    private static partial int Connect(int fd, byte* address, uint length);

    [LibraryImport("libc", EntryPoint = "accept4", SetLastError = true)]
    private static partial int Accept4(int fd, byte* address, uint* length, int flags);

    [LibraryImport("libc", EntryPoint = "recv", SetLastError = true)]
    private static partial nint Recv(int fd, byte* buffer, nuint length, int flags);

    [LibraryImport("libc", EntryPoint = "send", SetLastError = true)]
    private static partial nint Send(int fd, byte* buffer, nuint length, int flags);

    [LibraryImport("libc", EntryPoint = "sendto", SetLastError = true)]
    private static partial nint SendTo(int fd, byte* buffer, nuint length, int flags, byte* address, uint addressLength);

    [LibraryImport("libc", EntryPoint = "setsockopt", SetLastError = true)]
    private static partial int SetSockOpt(int fd, int level, int name, int* value, uint length);

    [LibraryImport("libc", EntryPoint = "shutdown", SetLastError = true)]
    public static partial int Shutdown(int fd, int how);

    /// <summary>struct sockaddr_un for a path, or for an abstract name when it starts with '\0'.</summary>
    public static byte[] UnixAddress(string path)
    {
        var bytes = Encoding.UTF8.GetBytes(path);
        // sun_path is 108 bytes; a path needs its NUL, an abstract name is counted by the length instead.
        var abstractName = bytes.Length > 0 && bytes[0] == 0;
        if (bytes.Length > (abstractName ? 108 : 107)) throw new IOException($"socket path too long: {path}");
        var address = new byte[2 + bytes.Length + (abstractName ? 0 : 1)];
        address[0] = AF_UNIX;
        bytes.CopyTo(address, 2);
        return address;
    }

    /// <summary>struct sockaddr_vm (16 bytes).</summary>
    public static byte[] VsockAddress(uint cid, uint port)
    {
        var address = new byte[16];
        address[0] = AF_VSOCK;
        for (var i = 0; i < 4; i++)
        {
            address[4 + i] = (byte)(port >> (8 * i));
            address[8 + i] = (byte)(cid >> (8 * i));
        }
        return address;
    }

    /// <summary>A non-blocking, close-on-exec socket; throws <see cref="IOException"/> with the errno text.</summary>
    public static int NewSocket(int family, int type)
    {
        var fd = Socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) throw LastError();
        return fd;
    }

    /// <summary>
    /// A non-blocking stream socket bound to <paramref name="address"/> and listening; throws
    /// <see cref="IOException"/> with the errno text and <paramref name="name"/>, as System.Net.Sockets words it.
    /// </summary>
    public static int ListenOn(byte[] address, int backlog, string name)
    {
        var fd = NewSocket(address[0], SOCK_STREAM);
        fixed (byte* a = address)
        {
            if (Bind(fd, a, (uint)address.Length) == 0 && Listen(fd, backlog) == 0) return fd;
        }
        var error = new IOException($"{StrError(Marshal.GetLastPInvokeError())} {name}");
        Close(fd);
        throw error;
    }

    /// <summary>A non-blocking socket of <paramref name="type"/> connected to <paramref name="address"/>; throws <see cref="IOException"/>.</summary>
    public static int ConnectTo(byte[] address, int type)
    {
        var fd = NewSocket(address[0], type);
        fixed (byte* a = address)
        {
            if (Connect(fd, a, (uint)address.Length) == 0) return fd;
        }
        var error = LastError();
        Close(fd);
        throw error;
    }

    /// <summary>The next connection, non-blocking; -1 with the errno when there is none or accept failed.</summary>
    public static int Accept(int listener, out int errno)
    {
        var fd = Accept4(listener, null, null, SOCK_NONBLOCK | SOCK_CLOEXEC);
        errno = fd < 0 ? Marshal.GetLastPInvokeError() : 0;
        return fd;
    }

    /// <summary>recv(2): bytes read, 0 at the end, -1 with the errno.</summary>
    public static int Receive(int fd, Span<byte> buffer, out int errno)
    {
        nint n;
        fixed (byte* b = buffer) n = Recv(fd, b, (nuint)buffer.Length, 0);
        errno = n < 0 ? Marshal.GetLastPInvokeError() : 0;
        return (int)n;
    }

    /// <summary>send(2) without SIGPIPE: bytes taken, -1 with the errno.</summary>
    public static int Send(int fd, ReadOnlySpan<byte> data, out int errno)
    {
        nint n;
        fixed (byte* d = data) n = Send(fd, d, (nuint)data.Length, MSG_NOSIGNAL);
        errno = n < 0 ? Marshal.GetLastPInvokeError() : 0;
        return (int)n;
    }

    /// <summary>sendto(2) of one datagram without SIGPIPE: whether it all went out.</summary>
    public static bool SendTo(int fd, ReadOnlySpan<byte> data, byte[] address)
    {
        fixed (byte* d = data)
        fixed (byte* a = address)
            return SendTo(fd, d, (nuint)data.Length, MSG_NOSIGNAL, a, (uint)address.Length) == data.Length;
    }

    /// <summary>SO_SNDBUF; whether the kernel took it.</summary>
    public static bool SetSendBuffer(int fd, int bytes) => SetSockOpt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof(int)) == 0;

    private static IOException LastError() => new(StrError(Marshal.GetLastPInvokeError()));
}
