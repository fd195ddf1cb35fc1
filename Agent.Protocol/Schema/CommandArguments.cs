using Agent.Protocol.Json;

namespace Agent.Protocol.Schema;

/// <summary>
/// The typed arguments of one command, a record generated from the schema by
/// <see cref="ArgumentRecords"/> (Generated/CommandArguments.g.cs): no reflection, so it binds the
/// same under NativeAOT.
/// </summary>
public interface ICommandArguments<TSelf> where TSelf : ICommandArguments<TSelf>
{
    /// <summary>The command these are the arguments of.</summary>
    static abstract string Command { get; }

    /// <summary>Reads arguments that already passed <see cref="ArgumentChecker"/>.</summary>
    static abstract TSelf Bind(JsonObject arguments);
}
