using Agent.Protocol.Json;

namespace Agent.Protocol.Schema;

public static class ArgumentChecker
{
    /// <summary>
    /// Checks arguments the way qemu's QAPI input visitor does (spec §2.2), members in schema
    /// order, nested structs and arrays with dotted/indexed paths, and the "unexpected" check of a
    /// struct after its members. Returns null when valid, else the exact GenericError text.
    /// </summary>
    public static string? Check(CommandSchema command, JsonObject arguments) => throw new NotImplementedException();
}
