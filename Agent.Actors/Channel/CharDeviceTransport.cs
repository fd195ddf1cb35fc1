using Agent.Actors.Platform;
using Akka.Actor;

namespace Agent.Actors.Channel;

/// <summary>
/// virtio-serial and isa-serial: a character device opened non-blocking and read by a dedicated poll
/// thread (a pending FileStream read can be neither cancelled nor disposed). There is one connection for
/// the agent's whole life. While no host process is attached the port reads EOF or polls HUP; like
/// qemu-ga we back off (100 ms) and keep the fd, never exit.
/// </summary>
public sealed unsafe class CharDeviceTransport : ITransport
{
    /// <summary>A char device has no connection boundary: every byte belongs to connection 1.</summary>
    public const long Connection = 1;

    private readonly string _path;
    private readonly bool _serialTty;
    private readonly int _readSize;
    private readonly TimeSpan _backoff;
    private int _fd = -1;
    private int _wake = -1;
    private Thread? _reader;
    private volatile bool _stopping;
    private volatile bool _reading = true;

    private CharDeviceTransport(string path, bool serialTty, int readSize, TimeSpan backoff)
    {
        _path = path;
        _serialTty = serialTty;
        _readSize = readSize;
        _backoff = backoff;
    }

    public static CharDeviceTransport VirtioSerial(string path, int readSize, TimeSpan backoff) => new(path, false, readSize, backoff);

    public static CharDeviceTransport IsaSerial(string path, int readSize, TimeSpan backoff) => new(path, true, readSize, backoff);

    public void Start(IActorRef owner)
    {
        _fd = Native.Open(_path, Native.O_RDWR | Native.O_NONBLOCK | Native.O_CLOEXEC | Native.O_NOCTTY);
        if (_fd < 0)
            throw new IOException($"error opening channel '{_path}': {Native.StrError(System.Runtime.InteropServices.Marshal.GetLastPInvokeError())}");
        if (_serialTty) MakeRaw();
        _wake = Native.EventFd(0, Native.EFD_CLOEXEC | Native.EFD_NONBLOCK);
        if (_wake < 0) throw new IOException("eventfd failed");
        owner.Tell(new ChannelActor.ClientConnected(Connection));
        _reader = new Thread(() => ReadLoop(owner)) { IsBackground = true, Name = "channel-reader" };
        _reader.Start();
    }

    /// <summary>Raw mode as qemu-ga sets it for isa-serial (qga/channel-posix.c, ga_channel_open).</summary>
    private void MakeRaw()
    {
        if (Native.TcGetAttr(_fd, out var t) != 0) return; // not a tty (e.g. a pty in tests behaves already)
        const uint clearInput = 0x1 | 0x2 | 0x4 | 0x8 | 0x10 | 0x20 | 0x40 | 0x80 | 0x100 | 0x400 | 0x1000 | 0x800 | 0x2000;
        t.Iflag &= ~clearInput; // IGNBRK BRKINT IGNPAR PARMRK INPCK ISTRIP INLCR IGNCR ICRNL IXON IXOFF IXANY IMAXBEL
        t.Oflag = 0;
        t.Lflag = 0;
        t.Cflag |= 0xF; // B38400
        t.Cc[Native.VMIN] = 1;
        t.Cc[Native.VTIME] = 0;
        Native.TcSetAttr(_fd, Native.TCSANOW, t);
        Native.TcFlush(_fd, Native.TCIFLUSH);
    }

    private void ReadLoop(IActorRef owner)
    {
        var buffer = new byte[_readSize];
        var hostConnected = true;
        var fds = stackalloc Native.PollFd[2];
        while (!_stopping)
        {
            fds[0] = new Native.PollFd { Fd = _wake, Events = Native.POLLIN };
            fds[1] = new Native.PollFd { Fd = _fd, Events = Native.POLLIN };
            var n = Native.Poll(fds, _reading ? 2u : 1u, -1);
            if (n < 0) continue; // EINTR
            if ((fds[0].Revents & Native.POLLIN) != 0)
            {
                DrainWake();
                continue;
            }
            if (!_reading) continue;
            var ev = fds[1].Revents;
            if ((ev & Native.POLLIN) != 0)
            {
                nint got;
                fixed (byte* p = buffer) got = Native.Read(_fd, p, buffer.Length);
                if (got > 0)
                {
                    hostConnected = true;
                    owner.Tell(new ChannelActor.BytesReceived(Connection, buffer.AsSpan(0, (int)got).ToArray()));
                    continue;
                }
                if (got < 0 && System.Runtime.InteropServices.Marshal.GetLastPInvokeError() is Native.EAGAIN or Native.EINTR)
                    continue;
            }
            else if ((ev & (Native.POLLHUP | Native.POLLERR | Native.POLLNVAL)) == 0)
            {
                continue;
            }
            // EOF or HUP: no host process on the other side. The parser state is kept, as qemu-ga keeps it.
            if (hostConnected)
            {
                hostConnected = false;
                owner.Tell(new ChannelActor.ClientDisconnected(Connection));
            }
            WaitForWake((int)_backoff.TotalMilliseconds);
        }
    }

    private void WaitForWake(int timeoutMs)
    {
        var fd = new Native.PollFd { Fd = _wake, Events = Native.POLLIN };
        Native.Poll(&fd, 1, timeoutMs);
    }

    private void DrainWake()
    {
        ulong value;
        Native.Read(_wake, (byte*)&value, 8);
    }

    private void Wake()
    {
        ulong one = 1;
        Native.Write(_wake, (byte*)&one, 8);
    }

    public Task WriteAsync(long conn, ReadOnlyMemory<byte> data, CancellationToken cancel)
    {
        // Fast path: the port takes the whole line at once; only a full or host-less port needs a wait.
        var written = TryWrite(data.Span);
        if (written == data.Length) return Task.CompletedTask;
        var rest = data[written..];
        return Task.Factory.StartNew(() => WriteBlocking(rest, cancel), cancel,
            TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    private int TryWrite(ReadOnlySpan<byte> data)
    {
        var total = 0;
        while (total < data.Length)
        {
            nint n;
            fixed (byte* p = data[total..]) n = Native.Write(_fd, p, data.Length - total);
            if (n > 0) { total += (int)n; continue; }
            var errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
            if (n < 0 && errno == Native.EINTR) continue;
            if (n < 0 && errno != Native.EAGAIN) throw new IOException($"write to channel failed: {Native.StrError(errno)}");
            break;
        }
        return total;
    }

    private void WriteBlocking(ReadOnlyMemory<byte> data, CancellationToken cancel)
    {
        while (!data.IsEmpty)
        {
            cancel.ThrowIfCancellationRequested();
            var fd = new Native.PollFd { Fd = _fd, Events = Native.POLLOUT };
            Native.Poll(&fd, 1, 100);
            data = data[TryWrite(data.Span)..];
        }
    }

    /// <summary>A char device has no connection to end: the port stays open for the agent's life.</summary>
    public void EndConnection(long conn) { }

    public bool CutsOffStalledClients => false;

    public void SetReading(bool enabled)
    {
        _reading = enabled;
        if (_wake >= 0) Wake();
    }

    public void Dispose()
    {
        _stopping = true;
        if (_wake >= 0) Wake();
        _reader?.Join(TimeSpan.FromSeconds(2));
        if (_fd >= 0) Native.Close(_fd);
        if (_wake >= 0) Native.Close(_wake);
        _fd = _wake = -1;
    }
}
