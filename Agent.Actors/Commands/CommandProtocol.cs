using Agent.Protocol.Envelope;
using Agent.Protocol.Json;

namespace Agent.Actors.Commands;

/// <summary>
/// Sent by the dispatcher to the actor that owns <see cref="Command"/>. Arguments were already
/// checked against the schema. The actor answers the sender with exactly one
/// <see cref="CommandSucceeded"/> or <see cref="CommandFailed"/> carrying the same Seq —
/// also for success-response:false commands (the dispatcher then sends nothing to the host,
/// but frees the slot).
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

/// <summary>Thrown by a handler to fail the command with a GenericError carrying this text.</summary>
public sealed class CommandException(string desc) : Exception(desc);
