using System.Net;
using System.Net.Sockets;
using Akka.Actor;

namespace Agent.Actors.Channel;

/// <summary>
/// unix-listen and vsock-listen: a listener with backlog 1 serving one client at a time, as qemu-ga
/// does. A second client's connect succeeds but it is served only after the first disconnects.
/// </summary>
public sealed class ListenTransport : ITransport
{
    private readonly Func<Socket> _createListener;
    private readonly int _readSize;
    private readonly CancellationTokenSource _stop = new();
    private readonly object _gate = new();
    private TaskCompletionSource _readingAllowed = NewOpenGate();
    private Socket? _listener;
    private volatile Socket? _client;
    private long _conn;
    private TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ListenTransport(Func<Socket> createListener, int readSize)
    {
        _createListener = createListener;
        _readSize = readSize;
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
        _listener = _createListener();
        _ = Task.Run(() => ServeAsync(owner));
    }

    private async Task ServeAsync(IActorRef owner)
    {
        var buffer = new byte[_readSize];
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var client = await _listener!.AcceptAsync(_stop.Token).ConfigureAwait(false);
                var conn = Interlocked.Increment(ref _conn);
                _ended = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _client = client;
                owner.Tell(new ChannelActor.ClientConnected(conn));
                try
                {
                    while (true)
                    {
                        Task gate;
                        lock (_gate) gate = _readingAllowed.Task;
                        await gate.WaitAsync(_stop.Token).ConfigureAwait(false);
                        var n = await client.ReceiveAsync(buffer, SocketFlags.None, _stop.Token).ConfigureAwait(false);
                        if (n == 0) break;
                        owner.Tell(new ChannelActor.BytesReceived(conn, buffer.AsSpan(0, n).ToArray()));
                    }
                }
                catch (SocketException)
                {
                    // A reset connection is a disconnect, as EOF is.
                }
                catch (ObjectDisposedException) when (!_stop.IsCancellationRequested)
                {
                    // The write side closed a client that stopped reading.
                }
                // The client may only have shut down its write side: it still gets the replies to what
                // it sent, and the next client waits until then, as with qemu-ga.
                owner.Tell(new ChannelActor.ClientDisconnected(conn));
                await _ended.Task.WaitAsync(_stop.Token).ConfigureAwait(false);
                _client = null;
                client.Dispose();
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
        catch (Exception ex) when (!_stop.IsCancellationRequested)
        {
            owner.Tell(new ChannelActor.TransportFailed(ex.Message));
        }
    }

    public async Task WriteAsync(long conn, ReadOnlyMemory<byte> data, CancellationToken cancel)
    {
        var client = _client;
        if (client is null || Interlocked.Read(ref _conn) != conn)
            throw new IOException("the client has disconnected");
        try
        {
            while (!data.IsEmpty)
            {
                var n = await client.SendAsync(data, SocketFlags.None, cancel).ConfigureAwait(false);
                data = data[n..];
            }
        }
        catch (OperationCanceledException)
        {
            // A host that stops reading would wedge qemu-ga; we cut that client off instead, since a
            // partly written line cannot be taken back.
            client.Dispose();
            throw;
        }
    }

    public void EndConnection(long conn)
    {
        if (Interlocked.Read(ref _conn) == conn) _ended.TrySetResult();
    }

    public bool CutsOffStalledClients => true;

    public void SetReading(bool enabled)
    {
        lock (_gate)
        {
            if (enabled) _readingAllowed.TrySetResult();
            else if (_readingAllowed.Task.IsCompleted) _readingAllowed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }

    private static TaskCompletionSource NewOpenGate()
    {
        var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        tcs.SetResult();
        return tcs;
    }

    public void Dispose()
    {
        _stop.Cancel();
        _client?.Dispose();
        _listener?.Dispose();
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
