
namespace Agent.Actors.Commands;

/// <summary>
/// The base of every command family: handlers registered per command by its typed arguments record
/// (<see cref="ICommandArguments{TSelf}"/>, generated from the schema), never by name. It answers an
/// unregistered command with qemu's not-found error and turns a handler's failure into the command's
/// error, so no family writes either. Two kinds of handler:
/// <list type="bullet">
/// <item>immediate (<c>Handle</c>, <c>HandleBounded</c>, <c>HandleAsync</c>): returns the reply value, or a task of
/// it that comes back through PipeTo; any exception it throws is the command's GenericError;</item>
/// <item>later (<c>HandleLater</c>): starts work whose outcome the family answers itself, to the sender it
/// was given; a <see cref="CommandException"/> is the command's error, anything else a bug the
/// dispatcher's supervision answers for (docs/architecture.md, "exactly one reply").</item>
/// </list>
/// A command abandoned at its deadline is answered at once unless the family overrides <see cref="OnAbandon"/>.
/// Everything else a family receives goes to <see cref="OnMessage"/> (docs/architecture.md, "Receiving").
/// </summary>
public abstract class CommandActor : UntypedActor
{
    private readonly Dictionary<string, Action<Execute>> _handlers = new();

    protected sealed override void OnReceive(object message)
    {
        switch (message)
        {
            case Execute execute:
                OnExecute(execute);
                return;
            case Abandon abandon:
                OnAbandon(abandon);
                return;
            default:
                OnMessage(message);
                return;
        }
    }

    /// <summary>A family's own messages (child outcomes, timers, piped results).</summary>
    protected virtual void OnMessage(object message) => Unhandled(message);

    /// <summary>Answers at once; the late result, if any, is dropped by the dispatcher.</summary>
    protected virtual void OnAbandon(Abandon abandon) => Sender.Tell(new CommandFailed(abandon.Seq, abandon.Error));

    protected void Handle<TArgs>(Func<TArgs, JsonValue> handler) where TArgs : ICommandArguments<TArgs> =>
        Immediate(TArgs.Command, cmd => handler(TArgs.Bind(cmd.Arguments)));

    /// <summary>A handler whose return value must fit in <see cref="Execute.ReturnBudget"/> bytes (its second argument).</summary>
    protected void HandleBounded<TArgs>(Func<TArgs, long, JsonValue> handler) where TArgs : ICommandArguments<TArgs> =>
        Immediate(TArgs.Command, cmd => handler(TArgs.Bind(cmd.Arguments), cmd.ReturnBudget));

    protected void HandleAsync<TArgs>(Func<TArgs, Task<JsonValue>> handler) where TArgs : ICommandArguments<TArgs> =>
        Async(TArgs.Command, cmd => handler(TArgs.Bind(cmd.Arguments)));

    /// <summary>A handler that answers <see cref="ActorBase.Sender"/> itself, now or later, with the Seq of its request.</summary>
    protected void HandleLater<TArgs>(Action<Execute, TArgs> handler) where TArgs : ICommandArguments<TArgs> =>
        Later(TArgs.Command, cmd => handler(cmd, TArgs.Bind(cmd.Arguments)));

    private void Immediate(string command, Func<Execute, JsonValue> handler) => _handlers[command] = cmd =>
    {
        try { Sender.Tell(new CommandSucceeded(cmd.Seq, handler(cmd))); }
        catch (Exception ex) { Sender.Tell(Fail(cmd.Seq, ex)); }
    };

    private void Async(string command, Func<Execute, Task<JsonValue>> handler) => _handlers[command] = cmd =>
    {
        Task<JsonValue> task;
        try { task = handler(cmd); }
        catch (Exception ex)
        {
            Sender.Tell(Fail(cmd.Seq, ex));
            return;
        }
        task.PipeTo(Sender, success: v => new CommandSucceeded(cmd.Seq, v), failure: ex => Fail(cmd.Seq, ex));
    };

    private void Later(string command, Action<Execute> handler) => _handlers[command] = cmd =>
    {
        try { handler(cmd); }
        catch (CommandException ex) { Sender.Tell(CommandFailed.Generic(cmd.Seq, ex.Message)); }
    };

    /// <summary>The commands this family has handlers for (a spec checks them against its <see cref="CommandFamily"/>).</summary>
    internal IReadOnlyCollection<string> HandledCommands => _handlers.Keys;

    private void OnExecute(Execute cmd)
    {
        if (_handlers.TryGetValue(cmd.Command, out var handler)) handler(cmd);
        else Sender.Tell(new CommandFailed(cmd.Seq, CommandErrors.NotFound(cmd.Command)));
    }

    private static CommandFailed Fail(long seq, Exception ex) => CommandFailed.Generic(seq, CommandErrors.Innermost(ex).Message);
}
