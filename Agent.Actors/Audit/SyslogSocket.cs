using Agent.Actors.Platform;

namespace Agent.Actors.Audit;

/// <summary>
/// A non-blocking datagram socket connected to the local syslog socket (/dev/log by default). A send
/// either goes out at once or fails: a full socket (a stalled daemon) gives EAGAIN instead of blocking
/// the caller. After a failure the next send reconnects, so a restarted daemon is picked up again.
/// A plain descriptor (Native.Sockets.cs): a System.Net.Sockets Socket would start an epoll thread that stays.
/// </summary>
public sealed class SyslogSocket(string path) : IDisposable
{
    private int _socket = -1;

    /// <summary>Why the last send failed, for the stderr fallback's first line.</summary>
    public string? LastError { get; private set; }

    public bool TrySend(byte[] datagram)
    {
        // No socket to connect to (a container without syslog): said without a socket and a thrown
        // SocketException per record, which cost more than the guest-file-write it audits (bench/README.md).
        if (_socket < 0 && !File.Exists(path))
        {
            LastError = "No such file or directory";
            return false;
        }
        try
        {
            if (_socket < 0) _socket = Native.ConnectTo(Native.UnixAddress(path), Native.SOCK_DGRAM);
            var sent = Native.Send(_socket, datagram, out var errno);
            if (sent == datagram.Length)
            {
                LastError = null;
                return true;
            }
            LastError = sent < 0 ? Native.StrError(errno) : "short write";
        }
        catch (IOException ex)
        {
            LastError = ex.Message;
        }
        Reset();
        return false;
    }

    private void Reset()
    {
        if (_socket >= 0) Native.Close(_socket);
        _socket = -1;
    }

    public void Dispose() => Reset();
}
