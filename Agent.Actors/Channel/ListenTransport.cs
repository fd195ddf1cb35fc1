using Agent.Actors.Platform;
using Akka.Actor;

namespace Agent.Actors.Channel;

/// <summary>
/// unix-listen and vsock-listen: a listener with backlog 1 serving one client at a time, as qemu-ga
/// does. A second client's connect succeeds but it is served only after the first disconnects.
/// Both sockets are non-blocking and served by an <see cref="EventLoop"/>: the channel's own when the
/// channel runs on one (the agent), else a private one. A reply that the socket takes at once is written
/// by the caller without a thread switch; the rest waits for POLLOUT on the loop. The sockets are plain
/// descriptors (<see cref="Native.ListenOn"/>): the loop polls them itself.
/// </summary>
public sealed class ListenTransport : ITransport
{
    private sealed class PendingWrite(ReadOnlyMemory<byte> rest)
    {
        public ReadOnlyMemory<byte> Rest = rest;
        public readonly TaskCompletionSource Done = new();
        public CancellationTokenRegistration Cancel;
    }

    private readonly Func<int> _createListener;
    private readonly byte[] _buffer;
    private EventLoop _loop = null!;
    private EventLoop? _ownLoop;
    private IActorRef _owner = ActorRefs.Nobody;
    // Everything below is touched on the loop thread only.
    private int _listener = -1;
    private int _client = -1;
    private long _conn;
    private bool _clientEnded;
    private bool _reading = true;
    private PendingWrite? _write;
    private bool _disposed;

    private ListenTransport(Func<int> createListener, int readSize)
    {
        _createListener = createListener;
        _buffer = new byte[readSize];
    }

    /// <summary>unix-listen: any file at <paramref name="path"/> is unlinked first; the socket file stays after exit, as with qemu-ga.</summary>
    public static ListenTransport Unix(string path, int readSize) => new(() =>
    {
        File.Delete(path);
        return Native.ListenOn(Native.UnixAddress(path), Backlog, path);
    }, readSize);

    /// <summary>vsock-listen on "&lt;cid&gt;:&lt;port&gt;".</summary>
    public static ListenTransport Vsock(string address, int readSize)
    {
        var sockaddr = VsockAddress.Parse(address);
        return new(() => Native.ListenOn(sockaddr, Backlog, $"vsock:{address}"), readSize);
    }

    /// <summary>As qemu-ga listens.</summary>
    private const int Backlog = 1;

    public void Start(IActorRef owner)
    {
        _owner = owner;
        var listener = _createListener();
        _loop = EventLoop.Current ?? (_ownLoop = new EventLoop("channel-transport"));
        _loop.Invoke(() =>
        {
            _listener = listener;
            if (_disposed) Native.Close(listener);
            else AwaitClient();
        });
    }

    private void AwaitClient() => _loop.SetWatch(_listener, Native.POLLIN, OnListenerReady);

    private void OnListenerReady(short revents)
    {
        var client = Native.Accept(_listener, out var errno);
        if (client < 0)
        {
            if (errno is Native.EAGAIN or Native.EINTR or Native.ECONNABORTED) return;
            _loop.RemoveWatch(_listener);
            _owner.Tell(new ChannelActor.TransportFailed(Native.StrError(errno)));
            return;
        }
        // Backlog 1 and no accept until this client is done: the next one waits, as with qemu-ga.
        _loop.RemoveWatch(_listener);
        Native.SetSendBuffer(client, ClientSendBuffer);
        _client = client;
        _clientEnded = false;
        _owner.Tell(new ChannelActor.ClientConnected(++_conn));
        UpdateClientWatch();
    }

    /// <summary>
    /// Asked of each client socket; the kernel caps it at net.core.wmem_max (4 MiB on most distributions).
    /// A large reply (an 8 MiB exec capture) then goes out in a few writes instead of one per ~200 KiB,
    /// each a POLLOUT wake-up of the loop (bench/README.md, "What is left per missed target"). Only memory
    /// the client has not read yet is held, so an idle channel costs nothing more. A hint: failure changes nothing.
    /// </summary>
    private const int ClientSendBuffer = 4 * 1024 * 1024;

    private void UpdateClientWatch()
    {
        if (_client < 0) return;
        var events = (short)((_reading && !_clientEnded ? Native.POLLIN : 0) | (_write is not null ? Native.POLLOUT : 0));
        _loop.SetWatch(_client, events, OnClientReady);
    }

    private void OnClientReady(short revents)
    {
        if (_write is not null && (revents & (Native.POLLOUT | Native.POLLERR | Native.POLLHUP)) != 0) ContinueWrite();
        if (_client < 0 || _clientEnded || !_reading || (revents & (Native.POLLIN | Native.POLLERR | Native.POLLHUP)) == 0) return;
        // One read per wake-up, as qemu-ga reads: queued replies and other sources get their turn in between.
        var n = Native.Receive(_client, _buffer, out var errno);
        if (errno is Native.EAGAIN or Native.EINTR) return;
        if (n > 0)
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
        if (_client < 0 || _conn != conn || _write is not null)
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
            var n = Native.Send(_client, data[total..], out var errno);
            if (n >= 0) { total += n; continue; }
            if (errno == Native.EINTR) continue;
            if (errno != Native.EAGAIN) error = new IOException($"write to client failed: {Native.StrError(errno)}");
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
        if (_client >= 0) Native.Shutdown(_client, Native.SHUT_RDWR);
        EndClient();
    }

    public void EndConnection(long conn) => _loop.Invoke(() =>
    {
        if (_conn != conn || _client < 0 || _disposed) return;
        CloseClient();
        AwaitClient();
    });

    private void CloseClient()
    {
        if (_client < 0) return;
        if (_write is { } write) FinishWrite(write, new IOException("the client has disconnected"));
        _loop.RemoveWatch(_client);
        Native.Close(_client);
        _client = -1;
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
            if (_listener >= 0)
            {
                _loop.RemoveWatch(_listener);
                Native.Close(_listener);
            }
        });
        _ownLoop?.Shutdown();
    }
}

/// <summary>vsock-listen's address: qemu-ga's "&lt;cid&gt;:&lt;port&gt;" as a struct sockaddr_vm.</summary>
public static class VsockAddress
{
    public static byte[] Parse(string address)
    {
        var parts = address.Split(':');
        if (parts.Length != 2 || !uint.TryParse(parts[0], out var cid) || !uint.TryParse(parts[1], out var port))
            throw new FormatException($"invalid vsock address '{address}': expected <cid>:<port>");
        return Native.VsockAddress(cid, port);
    }
}
