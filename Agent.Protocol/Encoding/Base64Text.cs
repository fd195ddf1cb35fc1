namespace Agent.Protocol.Encoding;

/// <summary>Sizes of padded base64 text, which the reply writer copies as it is (no character needs escaping).</summary>
public static class Base64Text
{
    /// <summary>Characters of the base64 text of <paramref name="bytes"/> bytes.</summary>
    public static long Length(long bytes) => (bytes + 2) / 3 * 4;

    /// <summary>The most bytes whose base64 text takes at most <paramref name="chars"/> characters (0 when none fit).</summary>
    public static long MaxBytesIn(long chars) => chars < 4 ? 0 : chars / 4 * 3;
}
