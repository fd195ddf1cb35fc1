using System.Net;
using System.Net.Sockets;
using Agent.Actors.Platform;
using Akka.Actor;

namespace Agent.Actors.Channel;

/// <summary>
/// unix-listen and vsock-listen: a listener with backlog 1 serving one client at a time, as qemu-ga
/// does. A second client's connect succeeds but it is served only after the first disconnects.
/// Both sockets are non-blocking and served by an <see cref="EventLoop"/>: the channel's own when the
/// channel runs on one (the agent), else a private one. A reply that the socket takes at once is written
/// by the caller without a thread switch; the rest waits for POLLOUT on the loop.
/// </summary>
public sealed class ListenTransport : ITransport
{
    private sealed class PendingWrite(ReadOnlyMemory<byte> rest)
    {
        public ReadOnlyMemory<byte> Rest = rest;
        public readonly TaskCompletionSource Done = new();
        public CancellationTokenRegistration Cancel;
    }

    private readonly Func<Socket> _createListener;
    private readonly byte[] _buffer;
    private EventLoop _loop = null!;
    private EventLoop? _ownLoop;
    private IActorRef _owner = ActorRefs.Nobody;
    // Everything below is touched on the loop thread only.
    private Socket? _listener;
    private Socket? _client;
    private long _conn;
    private bool _clientEnded;
    private bool _reading = true;
    private PendingWrite? _write;
    private bool _disposed;

    private ListenTransport(Func<Socket> createListener, int readSize)
    {
        _createListener = createListener;
        _buffer = new byte[readSize];
    }

    /// <summary>unix-listen: any file at <paramref name="path"/> is unlinked first; the socket file stays after exit, as with qemu-ga.</summary>
    public static ListenTransport Unix(string path, int readSize) => new(() =>
    {
        File.Delete(path);
        return Listen(AddressFamily.Unix, new UnixDomainSocketEndPoint(path));
    }, readSize);

    /// <summary>vsock-listen on "&lt;cid&gt;:&lt;port&gt;".</summary>
    public static ListenTransport Vsock(string address, int readSize)
    {
        var endPoint = VsockEndPoint.Parse(address);
        return new(() => Listen(VsockEndPoint.Family, endPoint), readSize);
    }

    /// <summary>Backlog 1, as qemu-ga listens.</summary>
    private static Socket Listen(AddressFamily family, EndPoint endPoint)
    {
        var s = new Socket(family, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            s.Bind(endPoint);
            s.Listen(1);
            s.Blocking = false;
            return s;
        }
        catch
        {
            s.Dispose();
            throw;
        }
    }

    public void Start(IActorRef owner)
    {
        _owner = owner;
        var listener = _createListener();
        _loop = EventLoop.Current ?? (_ownLoop = new EventLoop("channel-transport"));
        _loop.Invoke(() =>
        {
            _listener = listener;
            if (_disposed) listener.Dispose();
            else AwaitClient();
        });
    }

    private static int Fd(Socket s) => (int)s.SafeHandle.DangerousGetHandle();

    private void AwaitClient() => _loop.SetWatch(Fd(_listener!), Native.POLLIN, OnListenerReady);

    private void OnListenerReady(short revents)
    {
        Socket client;
        try
        {
            client = _listener!.Accept();
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.WouldBlock or SocketError.Interrupted
                                            or SocketError.ConnectionAborted)
        {
            return;
        }
        catch (Exception e)
        {
            _loop.RemoveWatch(Fd(_listener!));
            _owner.Tell(new ChannelActor.TransportFailed(e.Message));
            return;
        }
        // Backlog 1 and no accept until this client is done: the next one waits, as with qemu-ga.
        _loop.RemoveWatch(Fd(_listener));
        client.Blocking = false;
        SetLargeSendBuffer(client);
        _client = client;
        _clientEnded = false;
        _owner.Tell(new ChannelActor.ClientConnected(++_conn));
        UpdateClientWatch();
    }

    /// <summary>Asked of each client socket; the kernel caps it at net.core.wmem_max (4 MiB on most distributions).</summary>
    private const int ClientSendBuffer = 4 * 1024 * 1024;

    /// <summary>
    /// A large reply (an 8 MiB exec capture) then goes out in a few writes instead of one per ~200 KiB,
    /// each a POLLOUT wake-up of the loop (bench/README.md, "What is left per missed target"). Only memory
    /// the client has not read yet is held, so an idle channel costs nothing more. A hint: failure changes nothing.
    /// </summary>
    private static void SetLargeSendBuffer(Socket client)
    {
        try
        {
            client.SendBufferSize = ClientSendBuffer;
        }
        catch (SocketException)
        {
        }
    }

    private void UpdateClientWatch()
    {
        if (_client is null) return;
        var events = (short)((_reading && !_clientEnded ? Native.POLLIN : 0) | (_write is not null ? Native.POLLOUT : 0));
        _loop.SetWatch(Fd(_client), events, OnClientReady);
    }

    private void OnClientReady(short revents)
    {
        if (_write is not null && (revents & (Native.POLLOUT | Native.POLLERR | Native.POLLHUP)) != 0) ContinueWrite();
        if (_client is null || _clientEnded || !_reading || (revents & (Native.POLLIN | Native.POLLERR | Native.POLLHUP)) == 0) return;
        // One read per wake-up, as qemu-ga reads: queued replies and other sources get their turn in between.
        var n = _client.Receive(_buffer, SocketFlags.None, out var error);
        if (error is SocketError.WouldBlock or SocketError.Interrupted) return;
        if (error == SocketError.Success && n > 0)
        {
            _owner.Tell(new ChannelActor.BytesReceived(_conn, _buffer.AsSpan(0, n).ToArray()));
            return;
        }
        // EOF or a reset: the client may only have shut down its write side, so it still gets the replies
        // to what it sent, and the next client waits until the channel ends this one (EndConnection).
        EndClient();
    }

    /// <summary>No more reading from this client; the channel is told once.</summary>
    private void EndClient()
    {
        if (_clientEnded) return;
        _clientEnded = true;
        UpdateClientWatch();
        _owner.Tell(new ChannelActor.ClientDisconnected(_conn));
    }

    public Task WriteAsync(long conn, ReadOnlyMemory<byte> data, CancellationToken cancel) =>
        _loop.IsCurrentThread ? Write(conn, data, cancel) : WriteFromElsewhere(conn, data, cancel);

    // Apart from WriteAsync, whose usual path (on the loop) then allocates no closure.
    private Task WriteFromElsewhere(long conn, ReadOnlyMemory<byte> data, CancellationToken cancel)
    {
        var written = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _loop.Invoke(() => Write(conn, data, cancel).ContinueWith(t =>
        {
            if (t.IsFaulted) written.TrySetException(t.Exception!.InnerExceptions);
            else if (t.IsCanceled) written.TrySetCanceled();
            else written.TrySetResult();
        }, TaskContinuationOptions.ExecuteSynchronously));
        return written.Task;
    }

    private Task Write(long conn, ReadOnlyMemory<byte> data, CancellationToken cancel)
    {
        if (_client is null || _conn != conn || _write is not null)
            return Task.FromException(new IOException("the client has disconnected"));
        var sent = Send(data.Span, out var error);
        if (error is not null) return Task.FromException(error);
        return sent == data.Length ? Task.CompletedTask : WaitToWrite(data[sent..], cancel);
    }

    // Apart from Write, whose usual path (the socket took it all) then allocates no closure.
    private Task WaitToWrite(ReadOnlyMemory<byte> rest, CancellationToken cancel)
    {
        var write = _write = new PendingWrite(rest);
        write.Cancel = cancel.Register(() => _loop.Invoke(() => CancelWrite(write)));
        UpdateClientWatch();
        return write.Done.Task;
    }

    private int Send(ReadOnlySpan<byte> data, out Exception? error)
    {
        error = null;
        var total = 0;
        while (total < data.Length)
        {
            var n = _client!.Send(data[total..], SocketFlags.None, out var status);
            if (status == SocketError.Success) { total += n; continue; }
            if (status == SocketError.Interrupted) continue;
            if (status != SocketError.WouldBlock) error = new IOException($"write to client failed: {status}");
            break;
        }
        return total;
    }

    private void ContinueWrite()
    {
        var write = _write!;
        var sent = Send(write.Rest.Span, out var error);
        write.Rest = write.Rest[sent..];
        if (error is null && !write.Rest.IsEmpty) return;
        FinishWrite(write, error);
    }

    private void FinishWrite(PendingWrite write, Exception? error)
    {
        _write = null;
        write.Cancel.Dispose();
        UpdateClientWatch();
        if (error is null) write.Done.TrySetResult();
        else if (error is OperationCanceledException) write.Done.TrySetCanceled();
        else write.Done.TrySetException(error);
    }

    /// <summary>
    /// A host that stops reading would wedge qemu-ga; we cut that client off instead, since a partly
    /// written line cannot be taken back.
    /// </summary>
    private void CancelWrite(PendingWrite write)
    {
        if (_write != write) return;
        FinishWrite(write, new OperationCanceledException());
        _client?.Shutdown(SocketShutdown.Both);
        EndClient();
    }

    public void EndConnection(long conn) => _loop.Invoke(() =>
    {
        if (_conn != conn || _client is null || _disposed) return;
        CloseClient();
        AwaitClient();
    });

    private void CloseClient()
    {
        if (_client is null) return;
        if (_write is { } write) FinishWrite(write, new IOException("the client has disconnected"));
        _loop.RemoveWatch(Fd(_client));
        _client.Dispose();
        _client = null;
    }

    public bool CutsOffStalledClients => true;

    public void SetReading(bool enabled) => _loop.Invoke(() =>
    {
        _reading = enabled;
        UpdateClientWatch();
    });

    public void Dispose()
    {
        if (_loop is null) return;
        _loop.Invoke(() =>
        {
            if (_disposed) return;
            _disposed = true;
            CloseClient();
            if (_listener is not null)
            {
                _loop.RemoveWatch(Fd(_listener));
                _listener.Dispose();
            }
        });
        _ownLoop?.Shutdown();
    }
}

/// <summary>struct sockaddr_vm, which .NET does not know.</summary>
public sealed class VsockEndPoint(uint cid, uint port) : EndPoint
{
    public const AddressFamily Family = (AddressFamily)40;

    public uint Cid { get; } = cid;
    public uint Port { get; } = port;

    public override AddressFamily AddressFamily => Family;

    /// <summary>Parses qemu-ga's vsock path "&lt;cid&gt;:&lt;port&gt;".</summary>
    public static VsockEndPoint Parse(string address)
    {
        var parts = address.Split(':');
        if (parts.Length != 2 || !uint.TryParse(parts[0], out var cid) || !uint.TryParse(parts[1], out var port))
            throw new FormatException($"invalid vsock address '{address}': expected <cid>:<port>");
        return new VsockEndPoint(cid, port);
    }

    public override SocketAddress Serialize()
    {
        var a = new SocketAddress(Family, 16);
        for (var i = 0; i < 4; i++)
        {
            a[4 + i] = (byte)(Port >> (8 * i));
            a[8 + i] = (byte)(Cid >> (8 * i));
        }
        return a;
    }

    public override EndPoint Create(SocketAddress address) =>
        new VsockEndPoint(
            (uint)(address[8] | address[9] << 8 | address[10] << 16 | address[11] << 24),
            (uint)(address[4] | address[5] << 8 | address[6] << 16 | address[7] << 24));

    public override string ToString() => $"vsock:{Cid}:{Port}";
}
