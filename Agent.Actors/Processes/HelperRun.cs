using System.Text;
using Akka.Actor;

namespace Agent.Actors.Processes;

/// <summary>How one helper program ended, whatever went wrong.</summary>
public abstract record HelperOutcome
{
    /// <summary>It ran and ended (exit, signal or our timeout kill).</summary>
    public sealed record Finished(ChildCompleted Child) : HelperOutcome;

    /// <summary>It could not be started; no child exists.</summary>
    public sealed record NotStarted(int Errno, string Message) : HelperOutcome;

    /// <summary>Its owner actor failed or its exit could not be collected.</summary>
    public sealed record Broken(string Reason) : HelperOutcome;
}

/// <summary>
/// Base for actors that run one helper program as a supervised <see cref="ChildProcess"/> and turn
/// whatever happens to it into one <see cref="HelperOutcome"/>. The child is stopped, never
/// restarted, if it throws: a restart would run the helper again. A subclass's own messages go to
/// <see cref="OnMessage"/> (docs/architecture.md, "Receiving").
/// </summary>
public abstract class HelperRun : UntypedActor
{
    private IActorRef? _child;
    private bool _done;

    protected sealed override void OnReceive(object message)
    {
        switch (message)
        {
            case ChildStarted:
                break;
            case ChildCompleted c:
                Finish(new HelperOutcome.Finished(c));
                break;
            case ChildSpawnFailed f:
                Finish(new HelperOutcome.NotStarted(f.Errno, f.Message));
                break;
            case ChildLost l:
                Finish(new HelperOutcome.Broken(l.Reason));
                break;
            case Terminated t when t.ActorRef.Equals(_child):
                Finish(new HelperOutcome.Broken("the helper's owner actor failed"));
                break;
            default:
                OnMessage(message);
                break;
        }
    }

    protected virtual void OnMessage(object message) => Unhandled(message);

    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(_ => Directive.Stop);

    protected void Start(SpawnSpec spec, IActorRef reaper)
    {
        _child = Context.ActorOf(ChildProcess.Props(spec, reaper), "child");
        Context.Watch(_child);
    }

    protected abstract void OnOutcome(HelperOutcome outcome);

    private void Finish(HelperOutcome outcome)
    {
        if (_done) return;
        _done = true;
        if (_child is not null) Context.Unwatch(_child);
        OnOutcome(outcome);
    }

    /// <summary>The child's output as text for an error message, trimmed of trailing whitespace.</summary>
    protected static string OutputText(ChildCompleted c) => System.Text.Encoding.UTF8.GetString(c.Stdout).TrimEnd();
}
