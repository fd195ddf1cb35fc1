using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Agent.Protocol.Json;

/// <summary>
/// The byte scans on the path of a large string (a guest-file-write payload: the streamer, the parser,
/// the base64 decoder), built from Vector128 operations SSE2 has (pcmpeqb, pminub, pmaxub, psubb,
/// pmovmskb). SearchValues' searchers shuffle (pshufb, SSSE3), which the NativeAOT build's baseline x64
/// target does not assume, so there they ran a software shuffle: a third of the agent's CPU in
/// guest-file-write (bench/README.md).
/// </summary>
internal static class ByteScan
{
    /// <summary>First byte below 0x20, 0xFE or 0xFF, <paramref name="quote"/> or '\\' (where plain string content ends); -1 if none.</summary>
    public static int IndexOfStringStop(ReadOnlySpan<byte> s, byte quote)
    {
        int i = 0;
        if (Vector128.IsHardwareAccelerated && s.Length >= Vector128<byte>.Count)
        {
            ref byte start = ref MemoryMarshal.GetReference(s);
            Vector128<byte> q = Vector128.Create(quote), backslash = Vector128.Create((byte)'\\'),
                control = Vector128.Create((byte)0x1F), high = Vector128.Create((byte)0xFE);
            for (; i <= s.Length - Vector128<byte>.Count; i += Vector128<byte>.Count)
            {
                var v = Vector128.LoadUnsafe(ref start, (nuint)i);
                var hit = Vector128.Equals(v, q) | Vector128.Equals(v, backslash)
                          | Vector128.Equals(Vector128.Min(v, control), v) | Vector128.Equals(Vector128.Max(v, high), v);
                var mask = hit.ExtractMostSignificantBits();
                if (mask != 0) return i + BitOperations.TrailingZeroCount(mask);
            }
        }
        for (; i < s.Length; i++)
        {
            var b = s[i];
            if (b < 0x20 || b >= 0xFE || b == quote || b == '\\') return i;
        }
        return -1;
    }

    /// <summary>First byte ≥ 0x80, <paramref name="a"/> or <paramref name="b"/>; -1 if none.</summary>
    public static int IndexOfNonAsciiOr(ReadOnlySpan<byte> s, byte a, byte b)
    {
        int i = 0;
        if (Vector128.IsHardwareAccelerated && s.Length >= Vector128<byte>.Count)
        {
            ref byte start = ref MemoryMarshal.GetReference(s);
            Vector128<byte> va = Vector128.Create(a), vb = Vector128.Create(b);
            for (; i <= s.Length - Vector128<byte>.Count; i += Vector128<byte>.Count)
            {
                var v = Vector128.LoadUnsafe(ref start, (nuint)i);
                var mask = (v | Vector128.Equals(v, va) | Vector128.Equals(v, vb)).ExtractMostSignificantBits();
                if (mask != 0) return i + BitOperations.TrailingZeroCount(mask);
            }
        }
        for (; i < s.Length; i++)
        {
            var c = s[i];
            if (c >= 0x80 || c == a || c == b) return i;
        }
        return -1;
    }

    /// <summary>Whether <paramref name="s"/> holds a byte of C's isspace: ' ', '\t', '\n', '\v', '\f', '\r'.</summary>
    public static bool ContainsWhitespace(ReadOnlySpan<byte> s)
    {
        int i = 0;
        if (Vector128.IsHardwareAccelerated && s.Length >= Vector128<byte>.Count)
        {
            ref byte start = ref MemoryMarshal.GetReference(s);
            Vector128<byte> space = Vector128.Create((byte)' '), tab = Vector128.Create((byte)'\t'), four = Vector128.Create((byte)4);
            for (; i <= s.Length - Vector128<byte>.Count; i += Vector128<byte>.Count)
            {
                var v = Vector128.LoadUnsafe(ref start, (nuint)i);
                var fromTab = v - tab; // '\t'..'\r' become 0..4, everything else wraps above 4
                var hit = Vector128.Equals(v, space) | Vector128.Equals(Vector128.Min(fromTab, four), fromTab);
                if (hit != Vector128<byte>.Zero) return true;
            }
        }
        for (; i < s.Length; i++)
        {
            var c = s[i];
            if (c == ' ' || (uint)(c - '\t') <= 4) return true;
        }
        return false;
    }
}
