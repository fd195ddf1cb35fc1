using System.Text;
using Agent.Actors;
using Agent.Actors.Channel;
using Agent.Protocol.Envelope;
using Agent.Protocol.Json;
using Agent.Protocol.Schema;
using Akka.Actor;
using Akka.Configuration;
using Akka.Event;

namespace Agent.Fuzz;

/// <summary>
/// One agent in this process (the real actor tree and families over a <see cref="FuzzGuest"/>) and a
/// host that talks to it through an in-memory transport. A round sends a batch of inputs in random
/// chunks, then 0xFF (qemu's lexer resets on it) and a guest-sync barrier, and reads replies up to the
/// barrier's. The oracle: every reply is valid JSON, every item the stream holds gets exactly one reply
/// (suspend/shutdown may answer nothing on success), replies come in item order (checked through the
/// echoed ids), the barrier comes within the hang timeout, and nothing is logged at error level.
/// </summary>
public sealed class FuzzSession : IDisposable
{
    private static readonly CommandTable Table = QgaSchema.Standard.With(ExtensionSchema.Commands);
    private static readonly HashSet<string> Silent = Table.Commands.Where(c => !c.SuccessResponse).Select(c => c.Name).ToHashSet();

    private readonly FuzzGuest _guest;
    private readonly ActorSystem _system;
    private readonly LineTransport _transport = new();
    private long _barrier = 1L << 40;

    /// <summary>Error-level log events the agent raised (exceptions in actors), drained by the runner.</summary>
    public ErrorLog Errors { get; } = new();

    public FuzzSession(FuzzGuest guest)
    {
        _guest = guest;
        _system = ActorSystem.Create("fuzz", ConfigurationFactory.ParseString("""
            akka.loglevel = WARNING
            akka.stdout-loglevel = OFF
            akka.loggers = []
            akka.log-dead-letters = off
            akka.coordinated-shutdown.run-by-clr-shutdown-hook = off
            """));
        var collector = _system.ActorOf(Props.Create(() => new ErrorCollector(Errors)));
        _system.EventStream.Subscribe(collector, typeof(Error));
        var settings = guest.Settings();
        _system.ActorOf(AgentSupervisor.Props(settings, () => _transport, FuzzGuest.Families()), "agent");
    }

    public sealed record Outcome(string? Failure, int Replies, List<(string Command, long Value)> Learned);

    /// <summary>A round that was sent and whose replies are still to be read: the stream's items and its barrier.</summary>
    public sealed record Pending(List<StreamItem> Items, long BarrierId);

    /// <summary>Sends <paramref name="inputs"/> and checks the replies: <see cref="Send"/> then <see cref="Receive"/>.</summary>
    public Outcome Round(IReadOnlyList<byte[]> inputs, IReadOnlyList<int> cuts, TimeSpan hangTimeout, TextWriter? verbose = null)
    {
        var pending = Send(inputs, cuts);
        return pending is null
            ? new Outcome("refused by the safety filter: the inputs hold a request that could leave the fake guest", 0, [])
            : Receive(pending, hangTimeout, verbose);
    }

    /// <summary>
    /// Parses the round (inputs, 0xFF, barrier) once with the agent's own streamer, refuses it (null,
    /// nothing sent) when <see cref="SafetyFilter"/> finds a request that could leave the fake guest,
    /// else sends it in the chunks <paramref name="cuts"/> give. Replies come in order, so the next
    /// round may be sent before this one's replies are read.
    /// </summary>
    public Pending? Send(IReadOnlyList<byte[]> inputs, IReadOnlyList<int> cuts, IReadOnlySet<string>? quarantined = null)
    {
        var barrierId = ++_barrier;
        var barrier = Encoding.ASCII.GetBytes($"{{\"execute\":\"guest-sync\",\"arguments\":{{\"id\":{barrierId}}}}}");
        var all = Concat(inputs, barrier);

        // What the agent's stream holds: its own streamer over the same bytes (state is fresh after the last barrier).
        var items = new List<StreamItem>();
        new JsonStreamer().Feed(all, items);
        if (!SafetyFilter.IsSafe(items, _guest, quarantined)) return null;

        var at = 0;
        foreach (var cut in cuts.Where(c => c > 0 && c < all.Length - barrier.Length - 1).Order().Append(all.Length))
        {
            if (cut <= at) continue;
            _transport.Send(all[at..cut]);
            at = cut;
        }
        return new Pending(items, barrierId);
    }

    /// <summary>Reads the replies up to <paramref name="pending"/>'s barrier and checks them against its items.</summary>
    public Outcome Receive(Pending pending, TimeSpan hangTimeout, TextWriter? verbose = null)
    {
        var items = pending.Items;
        var learned = new List<(string, long)>();
        var expectedBarrier = Encoding.ASCII.GetBytes($"{{\"return\": {pending.BarrierId}}}");
        var replies = new List<byte[]>();
        var deadline = DateTime.UtcNow + hangTimeout;
        while (true)
        {
            var line = _transport.ReadLine(deadline - DateTime.UtcNow);
            if (line is null)
                return new Outcome($"hang: no reply to the barrier within {hangTimeout.TotalSeconds:0}s ({replies.Count} replies for {items.Count} items)", replies.Count, learned);
            replies.Add(line);
            if (line.AsSpan().SequenceEqual(expectedBarrier)) break;
        }
        if (verbose is not null)
        {
            foreach (var item in items) verbose.WriteLine($"  item:  {Describe(item)} {Show(ProtocolFuzz.ReplyFor(item))}");
            foreach (var reply in replies) verbose.WriteLine($"  reply: {Show(reply)}");
        }
        return new Outcome(Check(items, replies, learned), replies.Count, learned);
    }

    /// <summary>
    /// Aligns replies with items: one each, in order, ids echoed. A silent command (suspend, shutdown)
    /// answers only when it fails, so it may or may not have a reply: the round passes when some
    /// alignment explains every reply.
    /// </summary>
    private static string? Check(List<StreamItem> items, List<byte[]> replies, List<(string, long)> learned)
    {
        var ids = new string?[replies.Count];
        var errors = new bool[replies.Count];
        for (var r = 0; r < replies.Count; r++)
        {
            if (ReplyCheck.Problem(replies[r], out ids[r]) is { } problem)
                return $"reply {r} is not valid JSON ({problem}): {Show(replies[r])}";
            errors[r] = replies[r].AsSpan().IndexOf("{\"error\": "u8) is 0 or 1 || replies[r].AsSpan().IndexOf(", \"error\": "u8) >= 0;
        }
        var described = items.Select(Describe).ToArray();
        var silent = described.Select(d => d.Command is { } c && Silent.Contains(c)).ToArray();
        var memo = new Dictionary<(int, int), bool>();
        bool Align(int i, int r)
        {
            if (i == items.Count) return r == replies.Count;
            if (memo.TryGetValue((i, r), out var known)) return known;
            var fits = r < replies.Count && ids[r] == described[i].Id;
            var result = silent[i]
                ? Align(i + 1, r) || (fits && errors[r] && Align(i + 1, r + 1))
                : fits && Align(i + 1, r + 1);
            return memo[(i, r)] = result;
        }
        if (!Align(0, 0))
        {
            // Explain the first place where replies and items part, walking as if nothing were silent.
            for (var i = 0; i < items.Count; i++)
            {
                if (i >= replies.Count)
                    return $"item {i} ({described[i].Command ?? "error"}) got no reply; {replies.Count} replies for {items.Count} items";
                if (ids[i] != described[i].Id)
                    return $"reply {i} carries id {ids[i] ?? "none"}, item {i} ({described[i].Command ?? "error"}) had {described[i].Id ?? "none"}: out of order or lost; {Show(replies[i])}";
            }
            return $"{replies.Count} replies for {items.Count} items";
        }
        // What the agent handed out (handles, pids), for later inputs to use: walk the alignment found above
        // (a silent item took a reply only where skipping it does not explain the rest).
        for (int i = 0, r = 0; i < items.Count; i++)
        {
            if (silent[i] && Align(i + 1, r)) continue;
            if (described[i].Command is "guest-file-open" or "guest-exec" && ReturnedNumber(replies[r], described[i].Command!) is { } value)
                learned.Add((described[i].Command!, value));
            r++;
        }
        return null;
    }

    private static (string? Command, string? Id) Describe(StreamItem item)
    {
        if (item is not StreamValue { Value: var value }) return (null, null);
        var id = value is JsonObject o && o["id"] is { } v ? JsonWriter.ToJson(v) : null;
        return RequestEnvelope.Validate(value) is EnvelopeOk { Request: var request } ? (request.Command, id) : (null, id);
    }

    private static long? ReturnedNumber(byte[] line, string command)
    {
        using var doc = System.Text.Json.JsonDocument.Parse(line.AsMemory(line[0] == 0xFF ? 1 : 0));
        if (!doc.RootElement.TryGetProperty("return", out var ret)) return null;
        if (command == "guest-file-open") return ret.ValueKind == System.Text.Json.JsonValueKind.Number ? ret.GetInt64() : null;
        return ret.ValueKind == System.Text.Json.JsonValueKind.Object && ret.TryGetProperty("pid", out var pid) ? pid.GetInt64() : null;
    }

    private static string Show(byte[] line) =>
        line.Length > 300 ? Encoding.Latin1.GetString(line, 0, 300) + $"... ({line.Length} bytes)" : Encoding.Latin1.GetString(line);

    private static byte[] Concat(IReadOnlyList<byte[]> inputs, byte[] barrier)
    {
        var all = new byte[inputs.Sum(i => i.Length) + 1 + barrier.Length];
        var at = 0;
        foreach (var input in inputs)
        {
            input.CopyTo(all, at);
            at += input.Length;
        }
        all[at++] = 0xFF;
        barrier.CopyTo(all, at);
        return all;
    }

    public void Dispose()
    {
        _system.Terminate().Wait(TimeSpan.FromSeconds(20));
        _transport.Dispose();
    }

    /// <summary>Error events of the agent's actor system, thread-safe.</summary>
    public sealed class ErrorLog
    {
        private readonly List<string> _entries = [];

        public void Add(string entry)
        {
            lock (_entries) _entries.Add(entry);
        }

        public List<string> Drain()
        {
            lock (_entries)
            {
                var copy = _entries.ToList();
                _entries.Clear();
                return copy;
            }
        }
    }

    private sealed class ErrorCollector(ErrorLog log) : UntypedActor
    {
        protected override void OnReceive(object message)
        {
            if (message is Error e)
                log.Add($"{e.LogSource}: {e.Message}{(e.Cause is { } cause ? $" [{cause.GetType().Name}: {cause.Message}]" : "")}");
        }
    }

    /// <summary>The host's end: bytes in as one connection, reply lines out, no copies per byte.</summary>
    private sealed class LineTransport : ITransport
    {
        public bool CutsOffStalledClients => true;

        private readonly object _lock = new();
        private readonly Queue<byte[]> _lines = new();
        private readonly MemoryStream _partial = new();
        private readonly SemaphoreSlim _available = new(0);
        private readonly TaskCompletionSource<IActorRef> _owner = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Start(IActorRef owner)
        {
            owner.Tell(new ChannelActor.ClientConnected(1));
            _owner.TrySetResult(owner);
        }

        public void Send(byte[] data)
        {
            if (!_owner.Task.Wait(TimeSpan.FromSeconds(30))) throw new TimeoutException("the channel never started its transport");
            _owner.Task.Result.Tell(new ChannelActor.BytesReceived(1, data));
        }

        public Task WriteAsync(long conn, ReadOnlyMemory<byte> data, CancellationToken cancel)
        {
            var span = data.Span;
            lock (_lock)
            {
                while (!span.IsEmpty)
                {
                    var nl = span.IndexOf((byte)'\n');
                    if (nl < 0)
                    {
                        _partial.Write(span);
                        break;
                    }
                    _partial.Write(span[..nl]);
                    _lines.Enqueue(_partial.ToArray());
                    _partial.SetLength(0);
                    _available.Release();
                    span = span[(nl + 1)..];
                }
            }
            return Task.CompletedTask;
        }

        public byte[]? ReadLine(TimeSpan timeout)
        {
            if (timeout < TimeSpan.Zero || !_available.Wait(timeout)) return null;
            lock (_lock) return _lines.Dequeue();
        }

        public void SetReading(bool enabled) { }

        public void EndConnection(long conn) { }

        public void Dispose() { }
    }
}
