using Agent.Actors.Dispatch;
using Agent.Actors.Settings;
using Agent.Protocol.Json;
using Akka.Actor;
using Akka.Event;

namespace Agent.Actors.Channel;

/// <summary>
/// Owns the transport, its connections, the JSON streamer and backpressure: bytes in, stream items to
/// the dispatcher in order, reply lines out in the order the dispatcher delivers them. The streamer is
/// never reset on a reconnect, as qemu-ga's is not (qga/main.c keeps one JSONMessageParser). The
/// channel alone writes to the transport. A long reply line is encoded a chunk at a time into one reused
/// buffer as the transport takes it (Replies.ChunkedAbove), so it never exists whole.
///
/// Memory is bounded in bytes, never by refusing requests: requests read but unanswered count against
/// agent.channel.request-budget, replies not yet written against reply-budget. Past either, reading
/// stops (the host's writes block in the kernel); past the reply budget the dispatcher also starts no
/// new command until the host has read (docs/architecture.md, "backpressure").
/// </summary>
public sealed class ChannelActor : UntypedActor, IWithTimers
{
    public sealed record ClientConnected(long Conn);
    public sealed record BytesReceived(long Conn, byte[] Data);
    public sealed record ClientDisconnected(long Conn);
    public sealed record TransportFailed(string Reason);
    /// <summary>Published on the event stream each time the transport opens (systemd readiness, Agent.Host).</summary>
    public sealed record Opened(string Method, string Path);

    private sealed record WriteDone(long Seq, long Conn, Exception? Error);
    private sealed record WriteTimedOut(long Seq);

    private sealed class Flush
    {
        public static readonly Flush Instance = new();
        private Flush() { }
    }

    private const string WriteTimer = "write-timeout";
    // Coalesced replies per write; a bigger batch only delays the first line of it.
    private const int MaxBatchBytes = 64 * 1024;
    // Bytes of a long line encoded per write: small enough to stay in cache, large enough that the
    // socket's buffer takes several per wake-up (bench/README.md, "Large replies streamed").
    private const int ChunkBytes = 64 * 1024;

    /// <summary>
    /// Items parsed and not yet answered, at most. Bytes past that wait unparsed: a parsed request
    /// takes tens of times its bytes (100,000 pipelined pings parsed at once peaked at ~190 MB RSS), and
    /// the dispatcher runs one command at a time anyway, so this many keep it busy.
    /// </summary>
    private const int ParseWindow = 256;

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly ChannelSettings _settings;
    private readonly Func<ITransport> _openTransport;
    private readonly JsonStreamer _streamer = new();
    private readonly List<StreamItem> _items = new();
    // Exactly one of Line and Chunked is set.
    private readonly Queue<(long Conn, byte[]? Line, ChunkedText? Chunked)> _writes = new();
    // The long line being written, a chunk per write, to _chunkedConn; it holds its data until done.
    private ChunkedText.Cursor? _chunked;
    private long _chunkedConn;
    // Submitted items in submission order, which is the order their deliveries come back in.
    private readonly Queue<(long Ticket, long Conn, long Bytes)> _submitted = new();
    // Bytes read and not yet fed to the streamer (the parse window was full), in arrival order.
    private readonly Queue<(long Conn, byte[] Data)> _unparsed = new();
    private int _unparsedOffset; // into the head chunk
    private long _unparsedBytes;
    private ITransport? _transport;
    private readonly IActorRef _dispatcher;
    private long _nextTicket;
    // Bytes read that belong to no complete item yet (an incomplete message, whitespace, garbage).
    private long _unattributed;
    private long _requestBytes;
    private long _replyBytes;
    private bool _repliesBacklogged;
    // Items per connection still owed an answer. A client that sent its requests and then shut down
    // its write side (echo ... | socat) still gets its replies: the connection ends only when this
    // drains, as qemu-ga answers everything it read before handling the EOF.
    private readonly Dictionary<long, int> _owed = new();
    private readonly HashSet<long> _hungUp = new();
    private bool _writing;
    private bool _flushPending;
    private long _writeSeq;
    private int _batchLines;
    private long _batchBytes;
    private byte[] _batch = new byte[4096];
    private CancellationTokenSource _writeCancel = new();
    private bool _readingPaused;

    public ITimerScheduler Timers { get; set; } = null!;

    public ChannelActor(ChannelSettings settings, Func<ITransport> openTransport, IActorRef dispatcher)
    {
        _settings = settings;
        _openTransport = openTransport;
        _dispatcher = dispatcher;
    }

    // A type switch, not ReceiveActor: under NativeAOT, ReceiveActor matches every message through an
    // interpreted expression tree, which profiled at ~85% of the actors' CPU per request (bench/README.md).
    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case BytesReceived received: OnBytes(received); break;
            case Dispatcher.Delivery delivery: OnDelivery(delivery); break;
            case Flush:
                _flushPending = false;
                WriteNext();
                break;
            case WriteDone done: OnWriteDone(done); break;
            case WriteTimedOut timedOut: OnWriteTimedOut(timedOut); break;
            case ClientConnected c: _log.Debug("client {0} connected", c.Conn); break;
            case ClientDisconnected c:
                _log.Debug("client {0} disconnected", c.Conn);
                _hungUp.Add(c.Conn);
                EndIfSettled(c.Conn);
                break;
            case TransportFailed failed: OnTransportFailed(failed); break;
            case Reopen: Open(); break;
            default: Unhandled(message); break;
        }
    }

    /// <summary>
    /// The dispatcher is a sibling, not a child: a channel restart (a transport bug) must not cost the
    /// command families their state (file handles, exec results).
    /// </summary>
    public static Props Props(ChannelSettings settings, Func<ITransport> openTransport, IActorRef dispatcher) =>
        ActorConstructor.Props(() => new ChannelActor(settings, openTransport, dispatcher));

    protected override void PreStart()
    {
        Open();
    }

    protected override void PostStop()
    {
        _writeCancel.Cancel();
        _chunked?.Release();
        _transport?.Dispose();
    }

    private sealed record Reopen;

    private void Open()
    {
        try
        {
            _transport = _openTransport();
            _transport.Start(Self);
            Context.System.EventStream.Publish(new Opened(_settings.Method, _settings.Path));
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
        _unparsed.Enqueue((received.Conn, received.Data));
        _unparsedBytes += received.Data.Length;
        Parse();
        UpdateReading();
    }

    /// <summary>Feeds unparsed bytes to the streamer while the parse window has room.</summary>
    private void Parse()
    {
        while (_submitted.Count < ParseWindow && _unparsed.TryPeek(out var chunk))
        {
            _items.Clear();
            var taken = _streamer.Feed(chunk.Data.AsSpan(_unparsedOffset), _items, ParseWindow - _submitted.Count);
            _unparsedBytes -= taken;
            _unattributed += taken;
            _unparsedOffset += taken;
            if (_unparsedOffset == chunk.Data.Length)
            {
                _unparsed.Dequeue();
                _unparsedOffset = 0;
            }
            for (var i = 0; i < _items.Count; i++)
            {
                // The bytes read so far are shared among the items they completed; the sum is what counts.
                var bytes = i == _items.Count - 1 ? _unattributed : _unattributed / _items.Count;
                _unattributed -= bytes;
                _requestBytes += bytes;
                var ticket = ++_nextTicket;
                _submitted.Enqueue((ticket, chunk.Conn, bytes));
                _owed[chunk.Conn] = _owed.GetValueOrDefault(chunk.Conn) + 1;
                _dispatcher.Tell(new Dispatcher.Submit(ticket, _items[i]));
            }
            EndIfSettled(chunk.Conn); // a hung-up client whose last bytes held no complete request
        }
    }

    /// <summary>One item of <paramref name="conn"/> is answered (written, dropped, or needed no reply).</summary>
    private void Settle(long conn)
    {
        if (--_owed[conn] == 0) _owed.Remove(conn);
        EndIfSettled(conn);
        UpdateReading();
    }

    private void EndIfSettled(long conn)
    {
        if (!_hungUp.Contains(conn) || _owed.ContainsKey(conn) || HasUnparsed(conn)) return;
        _hungUp.Remove(conn);
        _transport?.EndConnection(conn);
    }

    // A loop, not LINQ: a lambda capturing conn would be an allocation per request (bench/README.md).
    private bool HasUnparsed(long conn)
    {
        foreach (var chunk in _unparsed)
            if (chunk.Conn == conn) return true;
        return false;
    }

    private void OnDelivery(Dispatcher.Delivery delivery)
    {
        var (ticket, conn, bytes) = _submitted.Dequeue();
        if (ticket != delivery.Ticket)
            throw new InvalidOperationException($"delivery for ticket {delivery.Ticket} arrived while {ticket} was due");
        _requestBytes -= bytes;
        Parse();
        if ((delivery.Line is null && delivery.Chunked is null) || _transport is null)
        {
            // No reply (suspend/shutdown success), or no transport to write to.
            Settle(conn);
            return;
        }
        _writes.Enqueue((conn, delivery.Line, delivery.Chunked));
        _replyBytes += delivery.Line?.Length ?? delivery.Chunked!.Length;
        UpdateReading();
        // Pipelined replies leave in one write instead of one syscall each: on the event loop, Flush is
        // sent when the loop has nothing else to run (the burst is answered, or waits off the loop);
        // elsewhere, deliveries already in the mailbox are queued before Flush runs.
        // A reply with nothing queued behind it on the loop (one request at a time) is written at once.
        if (!_flushPending && !_writing)
        {
            var loop = EventLoop.Current;
            if (loop is not null && !loop.HasQueuedWork && ((ActorCell)Context).Mailbox?.MessageQueue.HasMessages == false)
            {
                WriteNext();
                return;
            }
            _flushPending = true;
            if (loop is not null) FlushWhenIdle(loop);
            else Self.Tell(Flush.Instance);
        }
    }

    // Apart from OnDelivery: a closure declared in its block was allocated for every reply, even one written at once.
    private void FlushWhenIdle(EventLoop loop)
    {
        var self = Self;
        loop.WhenIdle(() => self.Tell(Flush.Instance));
    }

    private void WriteNext()
    {
        while (!_writing && _transport is not null && (_chunked is not null || _writes.Count > 0))
        {
            if (_chunked is null && _writes.Peek().Chunked is { } text)
            {
                _chunkedConn = _writes.Dequeue().Conn;
                _chunked = text.Start();
                _batchLines = 1;
                _batchBytes = text.Length;
            }
            var conn = _chunked is null ? _writes.Peek().Conn : _chunkedConn;
            var data = _chunked is null ? TakeBatch(conn) : NextChunk();
            _writing = true;
            var seq = ++_writeSeq;
            Task write;
            try { write = _transport.WriteAsync(conn, data, _writeCancel.Token); }
            catch (Exception ex) { write = Task.FromException(ex); }
            if (write.IsCompleted)
            {
                // The socket took it all at once, the usual case: no round trip through the mailbox.
                WriteCompleted(conn, ErrorOf(write));
                continue;
            }
            // Only a client can be cut off; a serial port's write waits for its host (reference.conf).
            if (_transport.CutsOffStalledClients)
                Timers.StartSingleTimer(WriteTimer, new WriteTimedOut(seq), _settings.WriteTimeout);
            write.ContinueWith(t => new WriteDone(seq, conn, ErrorOf(t)), TaskContinuationOptions.ExecuteSynchronously)
                .PipeTo(Self);
        }
    }

    /// <summary>Dequeues the head line and the lines behind it for the same client, up to a bound, as one buffer.</summary>
    private ReadOnlyMemory<byte> TakeBatch(long conn)
    {
        var first = _writes.Dequeue().Line!;
        _batchLines = 1;
        _batchBytes = first.Length;
        if (!_writes.TryPeek(out var next) || next.Conn != conn || next.Line is null) return first;
        var length = first.Length;
        EnsureBatchCapacity(length);
        first.CopyTo(_batch, 0);
        while (_writes.TryPeek(out next) && next.Conn == conn && next.Line is { } line && length + line.Length <= MaxBatchBytes)
        {
            _writes.Dequeue();
            _batchBytes += line.Length;
            EnsureBatchCapacity(length + line.Length);
            line.CopyTo(_batch, length);
            length += line.Length;
            _batchLines++;
        }
        return _batch.AsMemory(0, length);
    }

    /// <summary>The next chunk of the long line, encoded into the batch buffer (no batch is in flight meanwhile).</summary>
    private ReadOnlyMemory<byte> NextChunk()
    {
        EnsureBatchCapacity(ChunkBytes);
        return _batch.AsMemory(0, _chunked!.Fill(_batch.AsSpan(0, ChunkBytes)));
    }

    private void EnsureBatchCapacity(int length)
    {
        if (_batch.Length >= length) return;
        var grown = new byte[Math.Max(length, _batch.Length * 2)];
        _batch.AsSpan().CopyTo(grown);
        _batch = grown;
    }

    private static Exception? ErrorOf(Task write) =>
        write.Exception?.GetBaseException() ?? (write.IsCanceled ? new TimeoutException("write timed out") : null);

    private void OnWriteDone(WriteDone done)
    {
        if (done.Seq != _writeSeq) return;
        Timers.Cancel(WriteTimer);
        WriteCompleted(done.Conn, done.Error);
        WriteNext();
    }

    private void OnWriteTimedOut(WriteTimedOut timedOut)
    {
        if (!_writing || timedOut.Seq != _writeSeq) return;
        // The transport gives up on the write and reports it through WriteDone.
        _writeCancel.Cancel();
        _writeCancel = new CancellationTokenSource();
    }

    private void WriteCompleted(long conn, Exception? error)
    {
        _writing = false;
        if (_chunked is not null)
        {
            if (error is null && !_chunked.IsDone) return; // the next chunk follows
            _chunked.Release();
            _chunked = null;
        }
        _replyBytes -= _batchBytes;
        // A failed write (the client has gone, or was cut off for not reading) drops the replies; they
        // are never sent to a successor, since each connection has its own socket.
        if (error is not null)
            _log.Warning("dropped {0} reply line(s) to client {1}: {2}", _batchLines, conn, error.Message);
        for (var i = 0; i < _batchLines; i++) Settle(conn);
    }

    private void UpdateReading()
    {
        var backlogged = _replyBytes >= _settings.ReplyBudget;
        if (backlogged != _repliesBacklogged)
        {
            _repliesBacklogged = backlogged;
            _dispatcher.Tell(new Dispatcher.RepliesBacklogged(backlogged));
        }
        var pause = backlogged || _requestBytes + _unparsedBytes >= _settings.RequestBudget;
        if (pause == _readingPaused || _transport is null) return;
        _readingPaused = pause;
        _transport.SetReading(!pause);
        if (pause)
            _log.Debug("pausing input: {0} request bytes unanswered, {1} reply bytes unwritten", _requestBytes, _replyBytes);
    }
}
