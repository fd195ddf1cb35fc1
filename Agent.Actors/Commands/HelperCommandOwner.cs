using Agent.Actors.Processes;
using Agent.Protocol.Json;
using Akka.Actor;

namespace Agent.Actors.Commands;

/// <summary>
/// Base for families whose commands validate their arguments, maybe touch the system directly, and
/// then run one helper (<see cref="HelperCommand"/>): the helper's outcome becomes the command's reply.
/// </summary>
public abstract class HelperCommandOwner : ReceiveActor
{
    private readonly Dictionary<IActorRef, (long Seq, IActorRef ReplyTo)> _running = new();
    private readonly IActorRef _reaper;

    protected HelperCommandOwner(IActorRef reaper)
    {
        _reaper = reaper;
        Receive<Execute>(e =>
        {
            try { OnExecute(e); }
            catch (CommandException ex) { Sender.Tell(CommandFailed.Generic(e.Seq, ex.Message)); }
        });
        Receive<Abandon>(a =>
        {
            // The helper is stopped (its process group killed); its Finished never comes.
            foreach (var (child, pending) in _running.Where(r => r.Value.Seq == a.Seq).ToArray())
            {
                _running.Remove(child);
                Context.Stop(child);
                pending.ReplyTo.Tell(new CommandFailed(a.Seq, a.Error));
            }
        });
        Receive<HelperCommand.Finished>(f =>
        {
            if (!_running.Remove(Sender, out var pending)) return;
            pending.ReplyTo.Tell(f.Error is null ? new CommandSucceeded(pending.Seq, JsonObject.Empty) : CommandFailed.Generic(pending.Seq, f.Error));
        });
    }

    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(_ => Directive.Stop);

    /// <summary>Handles one command: throw <see cref="CommandException"/> to fail it, or call <see cref="RunHelper"/>.</summary>
    protected abstract void OnExecute(Execute e);

    /// <summary>Runs the helper for <paramref name="e"/>; its outcome answers the current sender.</summary>
    protected void RunHelper(Execute e, HelperCommand.Spec spec)
    {
        var child = Context.ActorOf(HelperCommand.Props(spec, _reaper), $"helper-{e.Seq}");
        _running[child] = (e.Seq, Sender);
    }
}
