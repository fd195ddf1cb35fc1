using Agent.Protocol.Envelope;
using Agent.Protocol.Json;
using Akka.Actor;

namespace Agent.Actors.Commands;

/// <summary>
/// Base for command-family actors whose commands are plain functions of their arguments.
/// A handler returns the reply value or throws <see cref="CommandException"/>; async handlers
/// run off the actor and come back through PipeTo, so the family keeps answering.
/// Any other exception is reported as a GenericError too; a command abandoned at its deadline is
/// answered at once (a late result is dropped by the dispatcher).
/// </summary>
public abstract class CommandActor : ReceiveActor
{
    private readonly Dictionary<string, Func<Execute, JsonValue>> _sync = new();
    private readonly Dictionary<string, Func<JsonObject, Task<JsonValue>>> _async = new();

    /// <summary>
    /// Execute skips ReceiveActor's matcher, which NativeAOT runs as an interpreted expression tree
    /// (see ChannelActor.OnReceive); a family's own Receive&lt;T&gt; handlers still work for everything else.
    /// </summary>
    protected override bool AroundReceive(Receive receive, object message)
    {
        switch (message)
        {
            case Execute execute:
                OnExecute(execute);
                return true;
            case Abandon abandon:
                Sender.Tell(new CommandFailed(abandon.Seq, abandon.Error));
                return true;
            default:
                return base.AroundReceive(receive, message);
        }
    }

    protected void Handle(string command, Func<JsonObject, JsonValue> handler) => _sync[command] = cmd => handler(cmd.Arguments);

    /// <summary>A handler whose return value must fit in <see cref="Execute.ReturnBudget"/> bytes (its second argument).</summary>
    protected void HandleBounded(string command, Func<JsonObject, long, JsonValue> handler) =>
        _sync[command] = cmd => handler(cmd.Arguments, cmd.ReturnBudget);

    protected void HandleAsync(string command, Func<JsonObject, Task<JsonValue>> handler) => _async[command] = handler;

    private void OnExecute(Execute cmd)
    {
        var replyTo = Sender;
        if (_async.TryGetValue(cmd.Command, out var asyncHandler))
        {
            Task<JsonValue> task;
            try { task = asyncHandler(cmd.Arguments); }
            catch (Exception ex) { replyTo.Tell(Fail(cmd.Seq, ex)); return; }
            task.PipeTo(replyTo,
                success: v => new CommandSucceeded(cmd.Seq, v),
                failure: ex => Fail(cmd.Seq, ex));
            return;
        }
        if (!_sync.TryGetValue(cmd.Command, out var handler))
        {
            replyTo.Tell(new CommandFailed(cmd.Seq, CommandErrors.NotFound(cmd.Command)));
            return;
        }
        try { replyTo.Tell(new CommandSucceeded(cmd.Seq, handler(cmd))); }
        catch (Exception ex) { replyTo.Tell(Fail(cmd.Seq, ex)); }
    }

    private static CommandFailed Fail(long seq, Exception ex) => CommandFailed.Generic(seq, CommandErrors.Innermost(ex).Message);
}
