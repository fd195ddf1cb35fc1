
namespace Agent.Actors.Commands.Power;

/// <summary>The power family: guest-shutdown, guest-suspend-*, and the power-capability extension.</summary>
public sealed class PowerActor : CommandActor
{
    public static readonly CommandFamily Family = CommandFamily.Of<GuestShutdownArguments, GuestSuspendDiskArguments,
        GuestSuspendRamArguments, GuestSuspendHybridArguments, GetPowerCapabilitiesArguments>("power", ctx => Props(PowerContext.From(ctx)));

    private readonly IActorRef _suspend;
    private readonly IActorRef _shutdown;

    public PowerActor(PowerContext ctx)
    {
        var suspend = _suspend = Context.ActorOf(SuspendActor.Props(ctx), "suspend");
        var shutdown = _shutdown = Context.ActorOf(ShutdownActor.Props(ctx), "shutdown");
        HandleLater<GuestShutdownArguments>((e, _) => shutdown.Forward(e));
        HandleLater<GuestSuspendDiskArguments>((e, _) => suspend.Forward(e));
        HandleLater<GuestSuspendRamArguments>((e, _) => suspend.Forward(e));
        HandleLater<GuestSuspendHybridArguments>((e, _) => suspend.Forward(e));
        HandleLater<GetPowerCapabilitiesArguments>((e, _) => suspend.Forward(e));
    }

    /// <summary>
    /// Both children hear it; the one running the command stops its helper (a hung shutdown or suspend
    /// helper would otherwise run on to its own timeout) and answers. The other has nothing to answer.
    /// </summary>
    protected override void OnAbandon(Abandon abandon)
    {
        _suspend.Forward(abandon);
        _shutdown.Forward(abandon);
    }

    public static Props Props(PowerContext ctx) => ActorConstructor.Props(() => new PowerActor(ctx));
}
