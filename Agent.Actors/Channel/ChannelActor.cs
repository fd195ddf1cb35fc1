using Agent.Actors.Dispatch;
using Agent.Actors.Settings;
using Agent.Protocol.Json;
using Akka.Actor;
using Akka.Event;

namespace Agent.Actors.Channel;

/// <summary>
/// Owns the transport and the JSON streamer: bytes in, stream items to the dispatcher in order,
/// reply lines out in the order the dispatcher delivers them. The streamer is never reset on a
/// reconnect, as qemu-ga's is not (spec §1.1). The channel alone writes to the transport.
/// </summary>
public sealed class ChannelActor : ReceiveActor, IWithTimers
{
    public sealed record ClientConnected(long Conn);
    public sealed record BytesReceived(long Conn, byte[] Data);
    public sealed record ClientDisconnected(long Conn);
    public sealed record TransportFailed(string Reason);

    private sealed record WriteDone(long Conn, Exception? Error);

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly ChannelSettings _settings;
    private readonly Func<ITransport> _openTransport;
        private readonly JsonStreamer _streamer = new();
    private readonly List<StreamItem> _items = new();
    private readonly Queue<Dispatcher.Delivery> _writes = new();
    private readonly int _readPauseThreshold;
    private ITransport? _transport;
    private readonly IActorRef _dispatcher;
    private long _outstanding;
    // Items per connection still owed an answer. A client that sent its requests and then shut down
    // its write side (echo ... | socat) still gets its replies: the connection ends only when this
    // drains, as qemu-ga answers everything it read before handling the EOF.
    private readonly Dictionary<long, int> _owed = new();
    private readonly HashSet<long> _hungUp = new();
    private bool _writing;
    private bool _readingPaused;

    public ITimerScheduler Timers { get; set; } = null!;

    public ChannelActor(ChannelSettings settings, Func<ITransport> openTransport, IActorRef dispatcher)
    {
        _settings = settings;
        _openTransport = openTransport;
        _dispatcher = dispatcher;
        // Past the dispatcher's queue bound requests are refused with an error; past four times it
        // we stop reading, so a host that never reads its replies cannot grow our memory.
        _readPauseThreshold = Math.Max(1, settings.MaxQueuedRequests) * 4;

        Receive<ClientConnected>(c => _log.Debug("client {0} connected", c.Conn));
        Receive<BytesReceived>(OnBytes);
        Receive<ClientDisconnected>(c =>
        {
            _log.Debug("client {0} disconnected", c.Conn);
            _hungUp.Add(c.Conn);
            EndIfSettled(c.Conn);
        });
        Receive<TransportFailed>(OnTransportFailed);
        Receive<Dispatcher.Delivery>(OnDelivery);
        Receive<WriteDone>(OnWriteDone);
        Receive<Reopen>(_ => Open());
    }

    /// <summary>
    /// The dispatcher is a sibling, not a child: a channel restart (a transport bug) must not cost the
    /// command families their state (file handles, exec results).
    /// </summary>
    public static Props Props(ChannelSettings settings, Func<ITransport> openTransport, IActorRef dispatcher) =>
        Akka.Actor.Props.Create(() => new ChannelActor(settings, openTransport, dispatcher));

    protected override void PreStart()
    {
        Open();
    }

    protected override void PostStop() => _transport?.Dispose();

    private sealed record Reopen;

    private void Open()
    {
        try
        {
            _transport = _openTransport();
            _transport.Start(Self);
        }
        catch (Exception ex)
        {
            _transport?.Dispose();
            _transport = null;
            if (!_settings.RetryPath)
            {
                _log.Error("failed to initialize guest agent channel: {0}", ex.Message);
                CoordinatedShutdown.Get(Context.System).Run(new AgentSupervisor.ExitReason(1, "channel failed to open"));
                return;
            }
            _log.Info("failed to open channel ({0}); retrying in {1}", ex.Message, _settings.RetryInterval);
            Timers.StartSingleTimer("reopen", new Reopen(), _settings.RetryInterval);
        }
    }

    private void OnTransportFailed(TransportFailed failed)
    {
        _transport?.Dispose();
        _transport = null;
        if (!_settings.RetryPath)
        {
            // qemu-ga leaves its main loop and exits 0 on a channel read error without -r.
            _log.Error("channel failed: {0}", failed.Reason);
            CoordinatedShutdown.Get(Context.System).Run(new AgentSupervisor.ExitReason(0, "channel failed"));
            return;
        }
        _log.Warning("agent stopped unexpectedly, restarting... ({0})", failed.Reason);
        Timers.StartSingleTimer("reopen", new Reopen(), _settings.RetryInterval);
    }

    private void OnBytes(BytesReceived received)
    {
        _items.Clear();
        _streamer.Feed(received.Data, _items);
        foreach (var item in _items)
        {
            _outstanding++;
            _owed[received.Conn] = _owed.GetValueOrDefault(received.Conn) + 1;
            _dispatcher.Tell(new Dispatcher.Submit(received.Conn, item));
        }
        UpdateReading();
    }

    /// <summary>One item of <paramref name="conn"/> is answered (written, dropped, or needed no reply).</summary>
    private void Settle(long conn)
    {
        _outstanding--;
        if (--_owed[conn] == 0) _owed.Remove(conn);
        EndIfSettled(conn);
        UpdateReading();
    }

    private void EndIfSettled(long conn)
    {
        if (!_hungUp.Contains(conn) || _owed.ContainsKey(conn)) return;
        _hungUp.Remove(conn);
        _transport?.EndConnection(conn);
    }

    private void OnDelivery(Dispatcher.Delivery delivery)
    {
        if (delivery.Line is null || _transport is null)
        {
            // No reply (suspend/shutdown success), or no transport to write to.
            Settle(delivery.Conn);
            return;
        }
        _writes.Enqueue(delivery);
        WriteNext();
    }

    private void WriteNext()
    {
        if (_writing || _transport is null || !_writes.TryPeek(out var next)) return;
        _writing = true;
        var cts = new CancellationTokenSource(_settings.WriteTimeout);
        var conn = next.Conn;
        _transport.WriteAsync(conn, next.Line, cts.Token).ContinueWith(t =>
        {
            cts.Dispose();
            return new WriteDone(conn, t.Exception?.GetBaseException() ?? (t.IsCanceled ? new TimeoutException("write timed out") : null));
        }, TaskContinuationOptions.ExecuteSynchronously).PipeTo(Self);
    }

    private void OnWriteDone(WriteDone done)
    {
        _writing = false;
        _writes.Dequeue();
        // A failed write (the client has gone) drops the reply; it is never sent to a successor,
        // since each connection has its own socket.
        if (done.Error is not null)
            _log.Warning("dropped a reply to client {0}: {1}", done.Conn, done.Error.Message);
        Settle(done.Conn);
        WriteNext();
    }

    private void UpdateReading()
    {
        var pause = _outstanding >= _readPauseThreshold;
        if (pause == _readingPaused || _transport is null) return;
        _readingPaused = pause;
        _transport.SetReading(!pause);
        if (pause) _log.Warning("host is not reading replies; pausing input at {0} outstanding", _outstanding);
    }
}
