using Agent.Protocol.Envelope;

namespace Agent.Actors.Commands;

/// <summary>
/// Sent by the dispatcher to the family that owns <see cref="Command"/>. Arguments were already
/// checked against the schema. The family answers the sender with one <see cref="CommandSucceeded"/>
/// or <see cref="CommandFailed"/> carrying the same Seq — also for success-response:false commands
/// (the dispatcher then sends nothing to the host, but goes on). If it does not, the dispatcher's
/// supervision and deadline answer for it (docs/architecture.md, "exactly one reply").
/// </summary>
/// <param name="ReturnBudget">
/// Bytes the return value may take so that the reply line, with this request's id, stays within
/// <c>agent.channel.max-reply-bytes</c>. Commands whose data can be large (guest-file-read,
/// guest-exec-status) size their answer to it; the rest are small by nature.
/// </param>
public sealed record Execute(long Seq, string Command, JsonObject Arguments, long ReturnBudget = long.MaxValue);

/// <summary>The command's return value; commands without return data answer <see cref="JsonObject.Empty"/>.</summary>
public sealed record CommandSucceeded(long Seq, JsonValue Value);

public sealed record CommandFailed(long Seq, QmpError Error)
{
    public static CommandFailed Generic(long seq, string desc) => new(seq, QmpError.Generic(desc));
}

/// <summary>
/// Sent by the dispatcher when command <see cref="Seq"/> passed its deadline. A family that can undo
/// what the command started (a freeze thaws) does so and answers with <see cref="Error"/>, extended if
/// it likes; a family that ignores this is answered for by the dispatcher after its grace period.
/// </summary>
public sealed record Abandon(long Seq, QmpError Error);

/// <summary>Thrown by a handler to fail the command with a GenericError carrying this text.</summary>
public sealed class CommandException(string desc) : Exception(desc);

/// <summary>The error texts every family shares; no family writes them itself.</summary>
public static class CommandErrors
{
    /// <summary>qemu's text for a command nobody registered (qapi/qmp-dispatch.c, qmp_dispatch).</summary>
    public static QmpError NotFound(string command) => QmpError.NotFound($"The command {command} has not been found");

    /// <summary>qemu's text for a registered but disabled command (qapi/qmp-dispatch.c, qmp_dispatch).</summary>
    public static QmpError Disabled(string command) =>
        QmpError.NotFound($"Command {command} has been disabled: {CommandPolicy.DisabledReason}");

    public static QmpError DeadlinePassed(string command, TimeSpan deadline, string key) =>
        QmpError.Generic($"{command} did not finish within {Describe(deadline)} ({key}); the agent went on with the next request");

    public static QmpError InternalError(string command, Exception cause) =>
        QmpError.Generic($"{command} failed: internal error: {Innermost(cause).Message}");

    public static string Describe(TimeSpan span) =>
        span.TotalSeconds < 1 ? $"{span.TotalMilliseconds:0} ms" : $"{span.TotalSeconds:0.###} s";

    /// <summary>The exception a handler threw, unwrapped from the task machinery.</summary>
    public static Exception Innermost(Exception ex)
    {
        while (ex is AggregateException { InnerException: { } inner }) ex = inner;
        return ex;
    }
}
