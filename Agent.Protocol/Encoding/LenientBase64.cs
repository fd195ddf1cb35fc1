namespace Agent.Protocol.Encoding;

/// <summary>Base64 as qemu accepts it (spec §6.7).</summary>
public static class LenientBase64
{
    public const string InvalidCharacters = "Base64 data contains invalid characters";

    /// <summary>Only A–Z a–z 0–9 + / = and \n are allowed; padding may be missing. Null on invalid input.</summary>
    public static byte[]? Decode(string text) => throw new NotImplementedException();

    /// <summary>Standard base64 with padding, no line breaks.</summary>
    public static string Encode(ReadOnlySpan<byte> data) => Convert.ToBase64String(data);
}
