using System.Text;

namespace Agent.Protocol.Json;

/// <summary>
/// qemu's "modified UTF-8" view of byte strings: one code point at a time, rejecting
/// overlong forms (except C0 80 for U+0000), surrogates, noncharacters and anything above
/// U+10FFFF. Both the parser (strings) and the writer (error texts holding raw bytes) use it.
/// </summary>
internal static class ModifiedUtf8
{
    private static readonly int[] MinCodePoint = [0x80, 0x800, 0x10000, 0x200000, 0x4000000];

    /// <summary>
    /// Decodes the code point at <paramref name="s"/>[0]; returns -1 when invalid. <paramref name="consumed"/>
    /// follows qemu: an invalid sequence swallows the bytes read up to the first non-continuation byte.
    /// </summary>
    public static int Decode(ReadOnlySpan<byte> s, out int consumed)
    {
        if (s.IsEmpty || s[0] == 0)
        {
            consumed = 0;
            return -1;
        }
        int b = s[0];
        consumed = 1;
        if (b < 0x80) return b;
        if (b >= 0xFE || (b & 0x40) == 0) return -1;

        int len = 0, mask;
        for (mask = 0x80; (b & mask) != 0; mask >>= 1) len++;
        int cp = b & (mask - 1);
        for (int i = 1; i < len; i++)
        {
            int c = i < s.Length ? s[i] : 0;
            if ((c & 0xC0) != 0x80) return -1;
            consumed++;
            cp = (cp << 6) | (c & 0x3F);
        }
        if (cp > 0x10FFFF || IsNonCharacter(cp) || (cp >= 0xD800 && cp <= 0xDFFF)) return -1;
        if (cp < MinCodePoint[len - 2] && !(cp == 0 && len == 2)) return -1;
        return cp;
    }

    public static bool IsNonCharacter(int cp) => (cp >= 0xFDD0 && cp <= 0xFDEF) || (cp & 0xFFFE) == 0xFFFE;

    /// <summary>Whether qemu accepts <paramref name="cp"/> from a \u escape.</summary>
    public static bool IsValidCodePoint(int cp) =>
        cp >= 0 && cp <= 0x10FFFF && !IsNonCharacter(cp) && !(cp >= 0xD800 && cp <= 0xDFFF);

    /// <summary>
    /// The text qemu's writer would show for a C string of raw bytes: stops at NUL, and every
    /// invalid sequence becomes U+FFFD.
    /// </summary>
    public static string ToDisplayString(ReadOnlySpan<byte> bytes)
    {
        var sb = new StringBuilder(bytes.Length);
        while (!bytes.IsEmpty && bytes[0] != 0)
        {
            int cp = Decode(bytes, out int n);
            if (n == 0) break;
            sb.AppendCodePoint(cp < 0 ? 0xFFFD : cp);
            bytes = bytes[n..];
        }
        return sb.ToString();
    }

    public static void AppendCodePoint(this StringBuilder sb, int cp)
    {
        if (cp > 0xFFFF)
        {
            cp -= 0x10000;
            sb.Append((char)(0xD800 + (cp >> 10)));
            sb.Append((char)(0xDC00 + (cp & 0x3FF)));
        }
        else
        {
            sb.Append((char)cp);
        }
    }
}
