namespace Agent.Protocol.Json;

/// <summary>
/// Serialises values the way qemu's JSON writer does (spec §1.2): ", " and ": " separators,
/// short escapes for \b \f \n \r \t, \uXXXX with UPPERCASE hex for other controls and every
/// code point >= 0x7F (surrogate pairs above the BMP), '/' not escaped, int64/uint64 decimal,
/// doubles as C "%.17g". Output is pure ASCII on one line.
/// </summary>
public static class JsonWriter
{
    public static void Write(JsonValue value, System.Buffers.IBufferWriter<byte> output) => throw new NotImplementedException();

    public static string ToJson(JsonValue value) => throw new NotImplementedException();
}
