using Agent.Protocol.Json;

namespace Agent.Protocol.Schema;

/// <summary>
/// Typed reads of arguments that already passed <see cref="ArgumentChecker"/>, so a present
/// member has the schema's type. Optional members read as null when absent.
/// </summary>
public static class Arguments
{
    public static long Int(this JsonObject args, string name) => OptInt(args, name) ?? throw Missing(name);

    public static long? OptInt(this JsonObject args, string name) => args[name] switch
    {
        JsonInt i => i.Value,
        JsonUInt u => unchecked((long)u.Value),
        null => null,
        var v => throw Wrong(name, v),
    };

    /// <summary>A uint64 member; negative ints are accepted for backward compatibility, as qemu does.</summary>
    public static ulong? OptUInt64(this JsonObject args, string name) => args[name] switch
    {
        JsonInt i => unchecked((ulong)i.Value),
        JsonUInt u => u.Value,
        null => null,
        var v => throw Wrong(name, v),
    };

    public static double? OptNumber(this JsonObject args, string name) => args[name] switch
    {
        JsonInt i => i.Value,
        JsonUInt u => u.Value,
        JsonDouble d => d.Value,
        null => null,
        var v => throw Wrong(name, v),
    };

    public static string String(this JsonObject args, string name) => OptString(args, name) ?? throw Missing(name);

    public static string? OptString(this JsonObject args, string name) => args[name] switch
    {
        JsonString s => s.Value,
        null => null,
        var v => throw Wrong(name, v),
    };

    /// <summary>A string member as the JSON value, whose bytes a large payload keeps (JsonString.FromAscii).</summary>
    public static JsonString StringValue(this JsonObject args, string name) => OptStringValue(args, name) ?? throw Missing(name);

    public static JsonString? OptStringValue(this JsonObject args, string name) => args[name] switch
    {
        JsonString s => s,
        null => null,
        var v => throw Wrong(name, v),
    };

    public static bool? OptBool(this JsonObject args, string name) => args[name] switch
    {
        JsonBool b => b.Value,
        null => null,
        var v => throw Wrong(name, v),
    };

    public static IReadOnlyList<JsonValue>? OptArray(this JsonObject args, string name) => args[name] switch
    {
        JsonArray a => a.Items,
        null => null,
        var v => throw Wrong(name, v),
    };

    public static IReadOnlyList<string>? OptStrings(this JsonObject args, string name) =>
        OptArray(args, name)?.Select(v => ((JsonString)v).Value).ToArray();

    public static InvalidOperationException Missing(string name) =>
        new($"argument '{name}' is missing after schema validation");

    private static InvalidOperationException Wrong(string name, JsonValue v) =>
        new($"argument '{name}' has JSON type {v.TypeName} after schema validation");
}
