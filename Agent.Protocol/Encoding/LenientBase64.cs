using System.Buffers;
using System.Buffers.Text;
using Agent.Protocol.Json;

namespace Agent.Protocol.Encoding;

/// <summary>Base64 as qemu accepts it (util/base64.c, qbase64_decode).</summary>
public static class LenientBase64
{
    public const string InvalidCharacters = "Base64 data contains invalid characters";

    /// <summary>
    /// <see cref="Decode(ReadOnlySpan{byte})"/> of a JSON string, straight from its bytes when the
    /// parser kept them (a guest-file-write payload never becomes a UTF-16 string).
    /// </summary>
    public static byte[]? Decode(JsonString text) =>
        text.TryGetAscii(out var ascii) ? Decode(ascii.Span) : Decode(text.Value);

    /// <summary><see cref="Decode(ReadOnlySpan{byte})"/> of a .NET string: anything outside ASCII is invalid.</summary>
    public static byte[]? Decode(string text) =>
        System.Text.Ascii.IsValid(text) ? Decode(System.Text.Encoding.ASCII.GetBytes(text)) : null;

    /// <summary>
    /// Only A–Z a–z 0–9 + / = and \n are allowed; padding may be missing. Null on invalid input.
    /// Decodes like glib's g_base64_decode: '\n' is skipped, '=' counts as a zero sextet that
    /// suppresses output bytes of its group, and an incomplete final group is dropped.
    /// </summary>
    public static byte[]? Decode(ReadOnlySpan<byte> text)
    {
        // Canonical base64 (groups of four, padding only at the end, no line breaks) decodes the same
        // under glib's rules, so the runtime's vectorized decoder takes it: this scalar loop was a third
        // of the agent's CPU in guest-file-write (bench/README.md). The runtime skips whitespace, which
        // qemu rejects, so input with any goes the slow way, as does anything the runtime refuses.
        if (text.Length % 4 == 0 && !ByteScan.ContainsWhitespace(text))
        {
            int padding = text.Length == 0 ? 0 : text[^1] != '=' ? 0 : text[^2] != '=' ? 1 : 2;
            var decoded = GC.AllocateUninitializedArray<byte>(text.Length / 4 * 3 - padding); // every byte is written
            if (Base64.DecodeFromUtf8(text, decoded, out var consumed, out var written) == OperationStatus.Done &&
                consumed == text.Length)
                return written == decoded.Length ? decoded : decoded[..written];
        }
        foreach (byte c in text)
            if (Rank(c) < 0 && c != '\n') return null;

        var output = new byte[text.Length / 4 * 3 + 3];
        int length = 0, count = 0;
        uint v = 0;
        byte last0 = 0, last1 = 0;
        foreach (byte c in text)
        {
            int rank = Rank(c);
            if (rank < 0) continue;
            last1 = last0;
            last0 = c;
            v = (v << 6) | (uint)rank;
            if (++count < 4) continue;
            output[length++] = (byte)(v >> 16);
            if (last1 != '=') output[length++] = (byte)(v >> 8);
            if (last0 != '=') output[length++] = (byte)v;
            count = 0;
        }
        Array.Resize(ref output, length);
        return output;
    }

    /// <summary>Standard base64 with padding, no line breaks.</summary>
    public static string Encode(ReadOnlySpan<byte> data) => Convert.ToBase64String(data);

    private static int Rank(byte c) => c switch
    {
        >= (byte)'A' and <= (byte)'Z' => c - 'A',
        >= (byte)'a' and <= (byte)'z' => c - 'a' + 26,
        >= (byte)'0' and <= (byte)'9' => c - '0' + 52,
        (byte)'+' => 62,
        (byte)'/' => 63,
        (byte)'=' => 0,
        _ => -1,
    };
}
