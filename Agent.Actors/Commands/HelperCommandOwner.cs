using Agent.Actors.Processes;

namespace Agent.Actors.Commands;

/// <summary>
/// Base for families whose commands validate their arguments, maybe touch the system directly, and
/// then run one helper (<see cref="HelperCommand"/>): the helper's outcome becomes the command's reply.
/// A handler (registered with HandleLater) throws <see cref="CommandException"/> to fail its command or
/// calls <see cref="RunHelper"/>; a command abandoned at its deadline stops its helper.
/// </summary>
public abstract class HelperCommandOwner(IActorRef reaper) : CommandActor
{
    private readonly Dictionary<IActorRef, (long Seq, IActorRef ReplyTo)> _running = new();

    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(_ => Directive.Stop);

    /// <summary>The helper is stopped (its process group killed); its Finished never comes.</summary>
    protected override void OnAbandon(Abandon abandon)
    {
        foreach (var (child, pending) in _running.Where(r => r.Value.Seq == abandon.Seq).ToArray())
        {
            _running.Remove(child);
            Context.Stop(child);
            pending.ReplyTo.Tell(new CommandFailed(abandon.Seq, abandon.Error));
        }
    }

    protected override void OnMessage(object message)
    {
        if (message is not HelperCommand.Finished f)
        {
            Unhandled(message);
            return;
        }
        Complete(Sender, f);
    }

    /// <summary>Answers the command <paramref name="helper"/> ran with its outcome, unless it was abandoned.</summary>
    protected void Complete(IActorRef helper, HelperCommand.Finished f)
    {
        if (!_running.Remove(helper, out var pending)) return;
        pending.ReplyTo.Tell(f.Error is null ? new CommandSucceeded(pending.Seq, JsonObject.Empty) : CommandFailed.Generic(pending.Seq, f.Error));
    }

    /// <summary>Runs the helper for <paramref name="e"/>; its outcome answers the current sender.</summary>
    protected void RunHelper(Execute e, HelperCommand.Spec spec)
    {
        var child = Context.ActorOf(HelperCommand.Props(spec, reaper), $"helper-{e.Seq}");
        _running[child] = (e.Seq, Sender);
    }
}
