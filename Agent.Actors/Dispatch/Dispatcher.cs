using Agent.Actors.Audit;
using Agent.Actors.Commands;
using Agent.Actors.Commands.Info;
using Agent.Actors.Policy;
using Agent.Protocol.Envelope;
using Agent.Protocol.Json;
using Agent.Protocol.Schema;
using Akka.Actor;
using Akka.Event;

namespace Agent.Actors.Dispatch;

/// <summary>
/// Runs requests one at a time in arrival order, as qemu-ga does, and answers every submitted item
/// with exactly one <see cref="Delivery"/> in submission order (a null line for a success-response:false
/// command). Validation happens when an item reaches the head of the queue, so a freeze earlier in a
/// pipeline disables the commands after it. Owns the command-family actors.
/// </summary>
public sealed class Dispatcher : UntypedActor
{
    /// <summary>One item from the byte stream of connection <paramref name="Conn"/>, in stream order.</summary>
    public sealed record Submit(long Conn, StreamItem Item);

    /// <summary>The fsfreeze family reports the agent's frozen state; enabling is recomputed.</summary>
    public sealed record FrozenStateChanged(bool Frozen);

    /// <summary>The answer to one Submit, sent to its sender: the reply line to write (null: nothing to write).</summary>
    public sealed record Delivery(long Conn, byte[]? Line);

    private sealed record Registered(CommandSchema Schema, IActorRef Owner);

    private sealed record Pending(IActorRef ReplyTo, long Conn, StreamItem Item, QmpError? Rejection);

    private sealed record InFlight(long Seq, Pending Item, Request Request, CommandSchema Schema);

    private const string DelimitedCommand = "guest-sync-delimited";

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly int _maxQueued;
    private readonly Dictionary<string, Registered> _commands = new();
    private readonly IReadOnlyList<CommandSchema> _schemaOrder;
    private readonly Queue<Pending> _queue = new();
    private CommandPolicy _policy;
    private IActorRef? _infoOwner;
    private InFlight? _inFlight;
    private long _nextSeq;
    // Per connection: a vanished client's backlog (still executed, as qemu-ga executes what it read)
    // must not make its successor's requests look like a flood.
    private readonly Dictionary<long, int> _queuedRequests = new();

    // Audit trail and per-argument policy (Agent.Actors/Audit, Agent.Actors/Policy).
    private readonly IActorRef _audit;
    private readonly ArgumentPolicy _argumentPolicy;

    public Dispatcher(CommandContext context, IReadOnlyList<CommandFamily> families,
        IReadOnlyList<CommandSchema> schema)
    {
        _maxQueued = context.Settings.Channel.MaxQueuedRequests;
        _audit = context.Audit;
        _argumentPolicy = new ArgumentPolicy(context.Settings.Policy);
        // An agent that starts frozen (the marker survived its predecessor) gates commands from the first request.
        _policy = CommandPolicy.Create(context.Settings.Rpc.Allow, context.Settings.Rpc.Block) with { Frozen = context.Freeze.Frozen };

        var bySchema = schema.ToDictionary(s => s.Name);
        foreach (var family in families)
        {
            var owner = Context.ActorOf(family.Props(context), family.Name);
            foreach (var name in family.Commands)
            {
                if (!bySchema.TryGetValue(name, out var s))
                    throw new InvalidOperationException($"family '{family.Name}' registers '{name}', which has no schema");
                _commands[name] = new Registered(s, owner);
                if (name == "guest-info") _infoOwner = owner;
            }
        }
        _schemaOrder = schema.Where(s => _commands.ContainsKey(s.Name)).ToArray();
        PublishAvailability();
    }

    // A type switch, not ReceiveActor: see ChannelActor.OnReceive (NativeAOT interprets ReceiveActor's matcher).
    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case Submit submit: OnSubmit(submit); break;
            case CommandSucceeded r: Complete(r.Seq, r.Value, null); break;
            case CommandFailed r: Complete(r.Seq, null, r.Error); break;
            case FrozenStateChanged f:
                _policy = _policy with { Frozen = f.Frozen };
                PublishAvailability();
                break;
            default: Unhandled(message); break;
        }
    }

    public static Props Props(CommandContext context, IReadOnlyList<CommandFamily> families,
        IReadOnlyList<CommandSchema> schema) =>
        Akka.Actor.Props.Create(() => new Dispatcher(context, families, schema));

    private void OnSubmit(Submit submit)
    {
        QmpError? rejection = null;
        if (submit.Item is StreamValue)
        {
            // A flooding host gets an error per request instead of growing our memory; the error
            // still leaves in order, and the channel stops reading well before this list can grow.
            var queued = _queuedRequests.GetValueOrDefault(submit.Conn);
            if (queued >= _maxQueued)
                rejection = QmpError.Generic($"the agent is busy: more than {_maxQueued} requests are queued");
            else
                _queuedRequests[submit.Conn] = queued + 1;
        }
        _queue.Enqueue(new Pending(Sender, submit.Conn, submit.Item, rejection));
        Pump();
    }

    /// <summary>Answers queued items until one needs a command actor, or the queue is empty.</summary>
    private void Pump()
    {
        while (_inFlight is null && _queue.TryDequeue(out var pending))
        {
            if (pending.Item is StreamValue && pending.Rejection is null && --_queuedRequests[pending.Conn] == 0)
                _queuedRequests.Remove(pending.Conn);
            switch (pending.Item)
            {
                case StreamError error:
                    Deliver(pending, Replies.Error(QmpError.Generic(error.Desc), null));
                    break;
                case StreamValue value when pending.Rejection is { } rejected:
                    Deliver(pending, Replies.Error(rejected, IdOf(value.Value)));
                    break;
                case StreamValue value:
                    Start(pending, value.Value);
                    break;
            }
        }
    }

    private static JsonValue? IdOf(JsonValue value) => value is JsonObject o ? o["id"] : null;

    private void Start(Pending pending, JsonValue value)
    {
        switch (RequestEnvelope.Validate(value))
        {
            case EnvelopeRejected rejected:
                Deliver(pending, Replies.Error(rejected.Error, rejected.Id));
                return;
            case EnvelopeOk { Request: var request }:
                if (!_commands.TryGetValue(request.Command, out var command))
                {
                    Deliver(pending, Replies.Error(QmpError.NotFound($"The command {request.Command} has not been found"), request.Id));
                    return;
                }
                if (!_policy.IsEnabled(command.Schema))
                {
                    Deliver(pending, Replies.Error(
                        QmpError.NotFound($"Command {request.Command} has been disabled: {CommandPolicy.DisabledReason}"), request.Id));
                    return;
                }
                if (ArgumentChecker.Check(command.Schema, request.Arguments) is { } argumentError)
                {
                    Deliver(pending, Replies.Error(QmpError.Generic(argumentError), request.Id));
                    return;
                }
                if (_argumentPolicy.Check(request.Command, request.Arguments) is { } refusal)
                {
                    AuditActor.Report(_audit, request.Command, request.Arguments, null, refusal);
                    Deliver(pending, Replies.Error(refusal, request.Id));
                    return;
                }
                var seq = ++_nextSeq;
                _inFlight = new InFlight(seq, pending, request, command.Schema);
                command.Owner.Tell(new Execute(seq, request.Command, request.Arguments));
                return;
        }
    }

    private void Complete(long seq, JsonValue? value, QmpError? error)
    {
        if (_inFlight is not { } flight || flight.Seq != seq)
        {
            _log.Warning("Dropping a late outcome for command #{0}", seq);
            return;
        }
        _inFlight = null;
        AuditActor.Report(_audit, flight.Request.Command, flight.Request.Arguments, value, error);
        if (error is not null)
            Deliver(flight.Item, Replies.Error(error, flight.Request.Id));
        else if (flight.Schema.SuccessResponse)
            Deliver(flight.Item, Replies.Return(value!, flight.Request.Id), delimited: flight.Request.Command == DelimitedCommand);
        else
            flight.Item.ReplyTo.Tell(new Delivery(flight.Item.Conn, null));
        Pump();
    }

    private static void Deliver(Pending to, JsonObject reply, bool delimited = false) =>
        to.ReplyTo.Tell(new Delivery(to.Conn, Replies.Line(reply, delimited)));

    private void PublishAvailability() =>
        _infoOwner?.Tell(new InfoActor.CommandAvailability(_schemaOrder
            .Reverse()
            .Select(s => new InfoActor.CommandState(s.Name, _policy.IsEnabled(s), s.SuccessResponse))
            .ToArray()));
}
