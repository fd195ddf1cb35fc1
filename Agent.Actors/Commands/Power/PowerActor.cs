using Agent.Protocol.Schema;
using Akka.Actor;

namespace Agent.Actors.Commands.Power;

/// <summary>The power family: guest-shutdown, guest-suspend-*, and the power-capability extension.</summary>
public sealed class PowerActor : CommandActor
{
    public static readonly CommandFamily Family = new("power", [ShutdownActor.Command, .. SuspendActor.Commands.Keys, ExtensionSchema.PowerCapabilities.Name], ctx => Props(PowerContext.From(ctx)));

    public PowerActor(PowerContext ctx)
    {
        var suspend = Context.ActorOf(SuspendActor.Props(ctx), "suspend");
        var shutdown = Context.ActorOf(ShutdownActor.Props(ctx), "shutdown");
        foreach (var command in Family.Commands)
            HandleLater(command, e => (command == ShutdownActor.Command ? shutdown : suspend).Forward(e));
    }

    public static Props Props(PowerContext ctx) => Akka.Actor.Props.Create(() => new PowerActor(ctx));
}
