
namespace Agent.Actors.Commands.Power;

/// <summary>
/// guest-suspend-disk/-ram/-hybrid and the power-capability query. Each request gets its own
/// <see cref="SuspendAttempt"/> child, so a slow or hung helper holds up nothing but that request.
/// Success answers CommandSucceeded (the dispatcher sends no reply: success-response false).
/// </summary>
public sealed class SuspendActor : CommandActor
{
    private readonly PowerContext _ctx;
    private readonly Dictionary<long, IActorRef> _running = new();
    private long _attempts;

    public SuspendActor(PowerContext ctx)
    {
        _ctx = ctx;
        HandleLater<GetPowerCapabilitiesArguments>((e, _) =>
            Track(e, Context.ActorOf(CapabilityQuery.Props(e.Seq, Sender, ctx), $"capabilities-{++_attempts}")));
        HandleLater<GuestSuspendDiskArguments>((e, _) => Attempt(e, SuspendMode.Disk));
        HandleLater<GuestSuspendRamArguments>((e, _) => Attempt(e, SuspendMode.Ram));
        HandleLater<GuestSuspendHybridArguments>((e, _) => Attempt(e, SuspendMode.Hybrid));
    }

    private void Attempt(Execute e, SuspendMode mode) =>
        Track(e, Context.ActorOf(SuspendAttempt.Props(mode, _ctx, new SuspendAttempt.Purpose.Execute(e.Seq, Sender)), $"attempt-{++_attempts}"));

    private void Track(Execute e, IActorRef child)
    {
        _running[e.Seq] = child;
        Context.Watch(child);
    }

    /// <summary>
    /// The attempt is stopped, its probe or executor helper killed with it (ChildProcess.PostStop), and
    /// the command answered; a command this actor is not running is not its to answer (PowerActor).
    /// </summary>
    protected override void OnAbandon(Abandon abandon)
    {
        if (!_running.Remove(abandon.Seq, out var child)) return;
        Context.Unwatch(child);
        Context.Stop(child);
        Sender.Tell(new CommandFailed(abandon.Seq, abandon.Error));
    }

    protected override void OnMessage(object message)
    {
        if (message is not Terminated t)
        {
            Unhandled(message);
            return;
        }
        foreach (var (seq, child) in _running)
            if (child.Equals(t.ActorRef))
            {
                _running.Remove(seq);
                return;
            }
    }

    public static Props Props(PowerContext ctx) =>
        ActorConstructor.Props(() => new SuspendActor(ctx));

    /// <summary>An attempt that throws is stopped, never retried: a retry could suspend the guest twice.</summary>
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(_ => Directive.Stop);
}

/// <summary>
/// Probes every mode the way the suspend commands would (same strategies, same probe mode) without
/// executing, and answers one list: [{"mode", "supported", "method"?, "reason"?}, ...].
/// </summary>
public sealed class CapabilityQuery : UntypedActor
{
    private readonly Dictionary<SuspendMode, ModeCapability> _found = new();
    private readonly long _seq;
    private readonly IActorRef _replyTo;

    public CapabilityQuery(long seq, IActorRef replyTo, PowerContext ctx)
    {
        _seq = seq;
        _replyTo = replyTo;
        foreach (var mode in SuspendModes.All)
            Context.ActorOf(SuspendAttempt.Props(mode, ctx, new SuspendAttempt.Purpose.ProbeOnly(Self)), mode.Name());
    }

    protected override void OnReceive(object message)
    {
        if (message is not ModeCapability c)
        {
            Unhandled(message);
            return;
        }
        _found[c.Mode] = c;
        if (_found.Count < SuspendModes.All.Count) return;
        _replyTo.Tell(new CommandSucceeded(_seq, new JsonArray(SuspendModes.All.Select(m => (JsonValue)ToJson(_found[m])).ToArray())));
        Context.Stop(Self);
    }

    public static Props Props(long seq, IActorRef replyTo, PowerContext ctx) =>
        ActorConstructor.Props(() => new CapabilityQuery(seq, replyTo, ctx));

    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(_ => Directive.Stop);

    private static JsonObject ToJson(ModeCapability c) => JsonObject.Of(
        ("mode", new JsonString(c.Mode.Name())),
        ("supported", JsonBool.Of(c.Supported)),
        ("method", c.Method is null ? null : new JsonString(c.Method)),
        ("reason", c.Reason is null ? null : new JsonString(c.Reason)));
}
