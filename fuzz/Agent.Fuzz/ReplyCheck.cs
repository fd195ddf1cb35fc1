using System.Text.Json;

namespace Agent.Fuzz;

/// <summary>The oracle for one reply line: RFC 8259 JSON (checked by System.Text.Json), an object with return or error.</summary>
public static class ReplyCheck
{
    private static readonly JsonDocumentOptions Strict = new() { MaxDepth = 4096 };

    /// <summary>Null when <paramref name="line"/> (without its '\n', a leading 0xFF allowed) is a valid reply, else why not.</summary>
    public static string? Problem(ReadOnlyMemory<byte> line, out string? idText)
    {
        idText = null;
        if (line.Length > 0 && line.Span[0] == 0xFF) line = line[1..];
        try
        {
            using var doc = JsonDocument.Parse(line, Strict);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) return "not an object";
            var hasReturn = root.TryGetProperty("return", out _);
            var hasError = root.TryGetProperty("error", out var error);
            if (hasReturn == hasError) return "neither return nor error (or both)";
            if (hasError && (!error.TryGetProperty("class", out var c) || c.ValueKind != JsonValueKind.String
                             || !error.TryGetProperty("desc", out var d) || d.ValueKind != JsonValueKind.String))
                return "error without class and desc strings";
            CheckStrings(root);
            if (root.TryGetProperty("id", out var id)) idText = id.GetRawText();
            return null;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or ArgumentException)
        {
            return ex.GetType().Name + ": " + ex.Message;
        }
    }

    /// <summary>Decodes every string, which rejects escapes of unpaired surrogates.</summary>
    private static void CheckStrings(JsonElement e)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.String: _ = e.GetString(); break;
            case JsonValueKind.Array: foreach (var item in e.EnumerateArray()) CheckStrings(item); break;
            case JsonValueKind.Object:
                foreach (var p in e.EnumerateObject())
                {
                    _ = p.Name;
                    CheckStrings(p.Value);
                }
                break;
        }
    }
}
