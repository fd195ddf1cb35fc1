using Agent.Actors.Audit;
using Agent.Actors.Channel;
using Agent.Actors.Commands;
using Agent.Actors.Platform;
using Agent.Actors.Policy;
using Agent.Actors.Settings;
using Agent.Protocol.Envelope;
using Agent.Protocol.Json;
using Agent.Protocol.Schema;
using System.Diagnostics;
using Akka.Actor;
using Akka.Event;

namespace Agent.Actors.Dispatch;

/// <summary>
/// Runs requests one at a time in arrival order, as qemu-ga does, and answers every submitted item with
/// exactly one <see cref="Delivery"/> in submission order (a null line for a success-response:false
/// command). Validation happens when an item reaches the head of the queue, so a freeze earlier in a
/// pipeline disables the commands after it.
///
/// This actor owns the one-reply guarantee (docs/architecture.md): a family that throws is resumed
/// with its state and the request in flight gets an error; a family that stops fails its request and
/// every later one; a command past its deadline is abandoned and answered with an error naming the
/// setting. It knows nothing of connections: a ticket from the channel comes back with its reply.
/// </summary>
public sealed class Dispatcher : UntypedActor, IWithTimers
{
    /// <summary>One item from the byte stream, in stream order; <paramref name="Ticket"/> comes back in its Delivery.</summary>
    public sealed record Submit(long Ticket, StreamItem Item);

    /// <summary>
    /// The answer to one Submit, sent to its sender: the reply line to write, as bytes or, when long, as
    /// text encoded as it is written (<see cref="Replies.ChunkedAbove"/>); neither: nothing to write.
    /// </summary>
    public sealed record Delivery(long Ticket, byte[]? Line, ChunkedText? Chunked = null);

    /// <summary>The channel's reply budget is full (no command starts) or has room again.</summary>
    public sealed record RepliesBacklogged(bool Full);

    private sealed record FamilyFailed(IActorRef Family, Exception Cause);

    /// <summary>The deadline timer, armed when command <paramref name="ArmedFor"/> started.</summary>
    private sealed record DeadlineSweep(long ArmedFor);

    private sealed record GraceEnded(long Seq);

    /// <summary>A policy check that reads the filesystem, done off this actor's thread for command <paramref name="Seq"/>.</summary>
    private sealed record PolicyChecked(long Seq, QmpError? Refusal);

    // A struct: it lives in the queue and then in InFlight, one object less per request.
    private readonly record struct Pending(IActorRef ReplyTo, long Ticket, StreamItem Item);

    private sealed record InFlight(long Seq, Pending Item, Request Request, CommandSchema Schema, IActorRef Owner,
        long Started, TimeSpan Deadline);

    private const string DeadlineTimer = "deadline";

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly CommandRoutes _routes;
    private readonly DispatchSettings _settings;
    private readonly long _maxReplyBytes;
    private readonly Agent.Actors.State.FreezeState _freeze;
    private readonly CommandPolicy _policy;
    private readonly CommandContext _familyContext;
    private readonly Dictionary<string, CommandFamily> _familyOf = new();
    // By reference: CommandFamily is a record, whose generated hash walks its members (the Props
    // delegate too) on every request (bench/README.md, "Per-request cost, round 3").
    private readonly Dictionary<CommandFamily, IActorRef> _families = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<IActorRef, string> _stopped = new();
    private readonly Queue<Pending> _queue = new();
    private InFlight? _inFlight;
    private bool _repliesBacklogged;
    private long _nextSeq;
    // Whether the deadline timer holds a sweep (not a grace period); it stays armed across commands.
    private bool _sweepArmed;

    // Audit trail and per-argument policy (Agent.Actors/Audit, Agent.Actors/Policy).
    private readonly IActorRef _audit;
    private readonly ArgumentPolicy _argumentPolicy;
    // Created at the first check that reads the filesystem; with the default policy, never.
    private BlockingCallThreads? _policyThreads;
    // Counts the command in flight: while one runs off the event loop (a family on the ThreadPool, a
    // blocking-call thread), the loop does not busy-poll (Channel/OffLoopWork.cs).
    private readonly OffLoopWork _offLoopWork = OffLoopWork.For(Context.System);

    public ITimerScheduler Timers { get; set; } = null!;

    public Dispatcher(CommandContext context, CommandRoutes routes)
    {
        _routes = routes;
        _settings = context.Settings.Dispatch;
        _maxReplyBytes = context.Settings.Channel.MaxReplyBytes;
        _freeze = context.Freeze;
        _policy = context.Policy;
        _audit = context.Audit;
        _argumentPolicy = new ArgumentPolicy(context.Settings.Policy, context.ResolvePath);
        _familyContext = context with { Registered = routes.Registered };
        foreach (var family in routes.Families)
        {
            foreach (var name in family.Commands) _familyOf[name] = family;
            if (family.CreateAtStart(_familyContext)) FamilyActor(family);
        }
    }

    /// <summary>
    /// A family is created when its first command arrives (most are never used in an agent's life, and
    /// each costs start-up time and memory), as this actor's child under <see cref="FamilyStrategy"/>.
    /// </summary>
    private IActorRef FamilyActor(CommandFamily family)
    {
        if (_families.TryGetValue(family, out var owner)) return owner;
        owner = Context.ActorOf(family.Props(_familyContext), family.Name);
        Context.Watch(owner);
        _families[family] = owner;
        return owner;
    }

    public static Props Props(CommandContext context, CommandRoutes routes) =>
        ActorConstructor.Props(() => new Dispatcher(context, routes));

    /// <summary>
    /// Resume, never restart: a restart would lose a family's state (open handles, exec results, the
    /// frozen mounts). The failure itself answers the request in flight (<see cref="FamilyFailed"/>).
    /// A family that cannot even start is stopped, and its commands fail from then on.
    /// </summary>
    protected override SupervisorStrategy SupervisorStrategy() => new FamilyStrategy(Self);

    private sealed class FamilyStrategy(IActorRef dispatcher) : OneForOneStrategy
    {
        protected override Directive Handle(IActorRef child, Exception exception)
        {
            if (exception is ActorInitializationException or ActorKilledException or DeathPactException) return Directive.Stop;
            dispatcher.Tell(new FamilyFailed(child, exception));
            return Directive.Resume;
        }
    }

    // One way to receive, for every actor of the agent: a type switch (docs/architecture.md, "receiving").
    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case Submit submit:
                _queue.Enqueue(new Pending(Sender, submit.Ticket, submit.Item));
                Pump();
                break;
            case CommandSucceeded r: Complete(r.Seq, r.Value, null); break;
            case CommandFailed r: Complete(r.Seq, null, r.Error); break;
            case RepliesBacklogged b:
                _repliesBacklogged = b.Full;
                Pump();
                break;
            case FamilyFailed f: OnFamilyFailed(f); break;
            case DeadlineSweep d: OnDeadlineSweep(d.ArmedFor); break;
            case GraceEnded g: OnGraceEnded(g.Seq); break;
            case PolicyChecked p: OnPolicyChecked(p); break;
            case Terminated t: OnFamilyStopped(t.ActorRef); break;
            default: Unhandled(message); break;
        }
    }

    /// <summary>Answers queued items until one needs a family, the replies back up, or the queue is empty.</summary>
    private void Pump()
    {
        while (_inFlight is null && !_repliesBacklogged && _queue.TryDequeue(out var pending))
        {
            switch (pending.Item)
            {
                case StreamError error:
                    Deliver(pending, Replies.Error(QmpError.Generic(error.Desc), null));
                    break;
                case StreamValue value:
                    Start(pending, value.Value);
                    break;
            }
        }
    }

    private void Start(Pending pending, JsonValue value)
    {
        switch (RequestEnvelope.Validate(value))
        {
            case EnvelopeRejected rejected:
                Deliver(pending, Replies.Error(rejected.Error, rejected.Id));
                return;
            case EnvelopeOk { Request: var request }:
                if (!_routes.TryGet(request.Command, out var route))
                {
                    Deliver(pending, Replies.Error(CommandErrors.NotFound(request.Command), request.Id));
                    return;
                }
                if (!_policy.IsEnabled(route.Schema, _freeze.Frozen))
                {
                    Deliver(pending, Replies.Error(CommandErrors.Disabled(request.Command), request.Id));
                    return;
                }
                if (ArgumentChecker.Check(route.Schema, request.Arguments) is { } argumentError)
                {
                    Deliver(pending, Replies.Error(QmpError.Generic(argumentError), request.Id));
                    return;
                }
                var checkAside = _argumentPolicy.ReadsFilesystem(request.Command);
                if (!checkAside && _argumentPolicy.Check(request.Command, request.Arguments) is { } refusal)
                {
                    AuditActor.Report(_audit, request.Command, request.Arguments, null, refusal);
                    Deliver(pending, Replies.Error(refusal, request.Id));
                    return;
                }
                var owner = FamilyActor(_familyOf[request.Command]);
                if (_stopped.Count > 0 && _stopped.TryGetValue(owner, out var family))
                {
                    Deliver(pending, Replies.Error(FamilyStopped(request.Command, family), request.Id));
                    return;
                }
                var seq = ++_nextSeq;
                var deadline = _settings.DeadlineFor(request.Command);
                _inFlight = new InFlight(seq, pending, request, route.Schema, owner, Stopwatch.GetTimestamp(), deadline);
                _offLoopWork.Began();
                // One timer for a run of commands, not a start and a cancel each (bench/README.md, "Per-request cost"):
                // armed for the first, it checks whoever is in flight when it fires (OnDeadlineSweep).
                if (!_sweepArmed) ArmSweep(seq, deadline);
                if (checkAside)
                {
                    // A path on a hung mount blocks only this check's thread; the deadline answers for it.
                    var (command, arguments) = (request.Command, request.Arguments);
                    _policyThreads ??= new BlockingCallThreads("agent-policy", maxIdle: 1);
                    _policyThreads.Run(() => _argumentPolicy.Check(command, arguments))
                        .PipeTo(Self, success: r => new PolicyChecked(seq, r), failure: ex => new PolicyChecked(seq,
                            QmpError.Generic($"{command}: the policy check failed: {ex.Message}")));
                    return;
                }
                Run(_inFlight);
                return;
        }
    }

    private void Run(InFlight flight) =>
        // What the return value may take so that the whole line fits agent.channel.max-reply-bytes.
        flight.Owner.Tell(new Execute(flight.Seq, flight.Request.Command, flight.Request.Arguments,
            Replies.ReturnBudget(_maxReplyBytes, flight.Request.Id, delimited: flight.Schema.DelimitedReply)));

    private void OnPolicyChecked(PolicyChecked checkedAside)
    {
        // A check that ends after its command's deadline has nothing left to answer.
        if (_inFlight is not { } flight || flight.Seq != checkedAside.Seq) return;
        if (checkedAside.Refusal is { } refusal) Finish(flight, null, refusal);
        else Run(flight);
    }

    protected override void PostStop()
    {
        _policyThreads?.Dispose();
        if (_inFlight is not null) _offLoopWork.Ended();
    }

    private void Complete(long seq, JsonValue? value, QmpError? error)
    {
        if (_inFlight is not { } flight || flight.Seq != seq)
        {
            _log.Warning("Dropping a late outcome for command #{0}", seq);
            return;
        }
        Finish(flight, value, error);
    }

    private void Finish(InFlight flight, JsonValue? value, QmpError? error)
    {
        _inFlight = null;
        _offLoopWork.Ended();
        AuditActor.Report(_audit, flight.Request.Command, flight.Request.Arguments, value, error);
        if (error is not null)
            Deliver(flight.Item, Replies.Error(error, flight.Request.Id));
        else if (flight.Schema.SuccessResponse)
            Deliver(flight.Item, Replies.Return(value!, flight.Request.Id), flight.Schema.DelimitedReply);
        else
            flight.Item.ReplyTo.Tell(new Delivery(flight.Item.Ticket, null));
        Pump();
    }

    private void OnFamilyFailed(FamilyFailed failed)
    {
        _log.Error(failed.Cause, "command family {0} failed", failed.Family.Path.Name);
        if (_inFlight is { } flight && flight.Owner.Equals(failed.Family))
            Finish(flight, null, CommandErrors.InternalError(flight.Request.Command, failed.Cause));
    }

    private void OnFamilyStopped(IActorRef family)
    {
        _stopped[family] = family.Path.Name;
        _log.Error("command family {0} stopped; its commands fail from now on", family.Path.Name);
        if (_inFlight is { } flight && flight.Owner.Equals(family))
            Finish(flight, null, FamilyStopped(flight.Request.Command, family.Path.Name));
    }

    private static QmpError FamilyStopped(string command, string family) =>
        QmpError.Generic($"{command} failed: internal error: its command family '{family}' has stopped");

    private void ArmSweep(long seq, TimeSpan delay)
    {
        _sweepArmed = true;
        Timers.StartSingleTimer(DeadlineTimer, new DeadlineSweep(seq), delay);
    }

    /// <summary>
    /// The command the timer was armed for is past its deadline if still in flight; a later one is
    /// past it when its own time is up (monotonic clock), else the timer waits for the rest. With
    /// nothing in flight the timer stays off until the next command.
    /// </summary>
    private void OnDeadlineSweep(long armedFor)
    {
        _sweepArmed = false;
        if (_inFlight is not { } flight) return;
        var left = flight.Deadline - Stopwatch.GetElapsedTime(flight.Started);
        if (flight.Seq != armedFor && left > TimeSpan.Zero)
        {
            ArmSweep(flight.Seq, left);
            return;
        }
        var (deadline, key) = _settings.DeadlineOf(flight.Request.Command);
        _log.Error("{0} passed its deadline of {1}; abandoning it", flight.Request.Command, deadline);
        var error = CommandErrors.DeadlinePassed(flight.Request.Command, deadline, key);
        flight.Owner.Tell(new Abandon(flight.Seq, error));
        // Replaces the sweep; the next command to start arms a new one.
        Timers.StartSingleTimer(DeadlineTimer, new GraceEnded(flight.Seq), _settings.AbandonGrace);
    }

    private void OnGraceEnded(long seq)
    {
        if (_inFlight is not { } flight || flight.Seq != seq) return;
        var (deadline, key) = _settings.DeadlineOf(flight.Request.Command);
        _log.Error("{0} did not abandon within {1}; answering for it", flight.Request.Command, _settings.AbandonGrace);
        Finish(flight, null, CommandErrors.DeadlinePassed(flight.Request.Command, deadline, key));
    }

    private void Deliver(Pending to, JsonObject reply, bool delimited = false)
    {
        var (line, chunked) = Replies.ChunkedLineWithin(reply, _maxReplyBytes, delimited);
        to.ReplyTo.Tell(new Delivery(to.Ticket, line, chunked));
    }
}
