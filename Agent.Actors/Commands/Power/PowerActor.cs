
namespace Agent.Actors.Commands.Power;

/// <summary>The power family: guest-shutdown, guest-suspend-*, and the power-capability extension.</summary>
public sealed class PowerActor : CommandActor
{
    public static readonly CommandFamily Family = CommandFamily.Of<GuestShutdownArguments, GuestSuspendDiskArguments,
        GuestSuspendRamArguments, GuestSuspendHybridArguments, GetPowerCapabilitiesArguments>("power", ctx => Props(PowerContext.From(ctx)));

    public PowerActor(PowerContext ctx)
    {
        var suspend = Context.ActorOf(SuspendActor.Props(ctx), "suspend");
        var shutdown = Context.ActorOf(ShutdownActor.Props(ctx), "shutdown");
        HandleLater<GuestShutdownArguments>((e, _) => shutdown.Forward(e));
        HandleLater<GuestSuspendDiskArguments>((e, _) => suspend.Forward(e));
        HandleLater<GuestSuspendRamArguments>((e, _) => suspend.Forward(e));
        HandleLater<GuestSuspendHybridArguments>((e, _) => suspend.Forward(e));
        HandleLater<GetPowerCapabilitiesArguments>((e, _) => suspend.Forward(e));
    }

    public static Props Props(PowerContext ctx) => Akka.Actor.Props.Create(() => new PowerActor(ctx));
}
