using System.Text.Json;

namespace Agent.Tests.EndToEnd;

/// <summary>Reply inspection helpers for end-to-end tests.</summary>
public static class Json
{
    public static JsonElement Parse(string line) => JsonDocument.Parse(line).RootElement.Clone();

    /// <summary>The same JSON with object members sorted by name at every depth (member order is qemu's hash order).</summary>
    public static string Canonical(string line) => Canonical(Parse(line));

    public static string Canonical(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Object => "{" + string.Join(",", e.EnumerateObject().OrderBy(p => p.Name, StringComparer.Ordinal)
            .Select(p => JsonSerializer.Serialize(p.Name) + ":" + Canonical(p.Value))) + "}",
        JsonValueKind.Array => "[" + string.Join(",", e.EnumerateArray().Select(Canonical)) + "]",
        _ => e.GetRawText(),
    };

    public static string ErrorClass(string line) => Parse(line).GetProperty("error").GetProperty("class").GetString()!;

    public static string ErrorDesc(string line) => Parse(line).GetProperty("error").GetProperty("desc").GetString()!;

    public static bool IsError(string line) => Parse(line).TryGetProperty("error", out _);
}
