using System.Net.Sockets;

namespace Agent.Actors.Audit;

/// <summary>
/// A non-blocking datagram socket connected to the local syslog socket (/dev/log by default). A send
/// either goes out at once or fails: a full socket (a stalled daemon) gives EAGAIN instead of blocking
/// the caller. After a failure the next send reconnects, so a restarted daemon is picked up again.
/// </summary>
public sealed class SyslogSocket(string path) : IDisposable
{
    private Socket? _socket;

    /// <summary>Why the last send failed, for the stderr fallback's first line.</summary>
    public string? LastError { get; private set; }

    public bool TrySend(byte[] datagram)
    {
        // No socket to connect to (a container without syslog): said without a socket and a thrown
        // SocketException per record, which cost more than the guest-file-write it audits (bench/README.md).
        if (_socket is null && !File.Exists(path))
        {
            LastError = "No such file or directory";
            return false;
        }
        try
        {
            _socket ??= Connect();
            var sent = _socket.Send(datagram, SocketFlags.None, out var error);
            if (error == SocketError.Success && sent == datagram.Length)
            {
                LastError = null;
                return true;
            }
            LastError = error.ToString();
        }
        catch (SocketException ex)
        {
            LastError = ex.Message;
        }
        Reset();
        return false;
    }

    private Socket Connect()
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        try
        {
            socket.Connect(new UnixDomainSocketEndPoint(path));
            socket.Blocking = false;
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private void Reset()
    {
        _socket?.Dispose();
        _socket = null;
    }

    public void Dispose() => Reset();
}
