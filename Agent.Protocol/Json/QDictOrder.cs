namespace Agent.Protocol.Json;

/// <summary>
/// The member order qemu's QDict iterates in, which is what its JSON writer and its envelope check
/// see: 512 buckets chosen by tdb_hash(key), buckets ascending, and within one bucket the most
/// recently inserted member first. Reproducing it makes our replies byte-identical to qemu-ga's.
/// </summary>
public static class QDictOrder
{
    private const int Buckets = 512;

    /// <summary>The bucket of a key: tdb_hash over its (modified) UTF-8 bytes, modulo 512.</summary>
    public static int Bucket(string key)
    {
        // Member names are ASCII (1..0x7F): their modified UTF-8 is the chars themselves, hashed without encoding.
        uint ascii = unchecked(0x238F13AFu * (uint)key.Length);
        for (int i = 0; i < key.Length; i++)
        {
            uint c = key[i];
            if (c - 1 >= 0x7F) return EncodedBucket(key);
            ascii = unchecked(ascii + (c << (i * 5 % 24)));
        }
        return (int)(unchecked(1103515243u * ascii + 12345u) % Buckets);
    }

    private static int EncodedBucket(string key)
    {
        Span<byte> stack = stackalloc byte[128];
        int max = key.Length * 3;
        var bytes = max <= stack.Length ? stack : new byte[max];
        int n = EncodeModifiedUtf8(key, bytes);
        uint value = unchecked(0x238F13AFu * (uint)n);
        for (int i = 0; i < n; i++) value = unchecked(value + ((uint)bytes[i] << (i * 5 % 24)));
        return (int)(unchecked(1103515243u * value + 12345u) % Buckets);
    }

    /// <summary>
    /// Fills <paramref name="order"/> with member indexes in qemu's iteration order for members
    /// inserted in list order.
    /// </summary>
    public static void Order(IReadOnlyList<KeyValuePair<string, JsonValue>> members, Span<int> order)
    {
        int n = members.Count;
        Span<int> buckets = n <= 64 ? stackalloc int[n] : new int[n];
        for (int i = 0; i < n; i++)
        {
            buckets[i] = Bucket(members[i].Key);
            order[i] = i;
        }
        // Insertion sort: objects are small; newest first within a bucket.
        for (int i = 1; i < n; i++)
        {
            int cur = order[i];
            int j = i - 1;
            while (j >= 0 && Before(buckets, cur, order[j]))
            {
                order[j + 1] = order[j];
                j--;
            }
            order[j + 1] = cur;
        }
    }

    private static bool Before(Span<int> buckets, int a, int b) =>
        buckets[a] < buckets[b] || (buckets[a] == buckets[b] && a > b);

    // qemu keeps strings as modified UTF-8: U+0000 is C0 80; unpaired surrogates cannot occur
    // in qemu, so they are hashed as U+FFFD.
    private static int EncodeModifiedUtf8(string s, Span<byte> dst)
    {
        int n = 0;
        for (int i = 0; i < s.Length; i++)
        {
            int cp = s[i];
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
                cp = char.ConvertToUtf32(s[i], s[++i]);
            else if (char.IsSurrogate(s[i]))
                cp = 0xFFFD;

            if (cp is > 0 and < 0x80) dst[n++] = (byte)cp;
            else if (cp < 0x800)
            {
                dst[n++] = (byte)(0xC0 | (cp >> 6));
                dst[n++] = (byte)(0x80 | (cp & 0x3F));
            }
            else if (cp < 0x10000)
            {
                dst[n++] = (byte)(0xE0 | (cp >> 12));
                dst[n++] = (byte)(0x80 | ((cp >> 6) & 0x3F));
                dst[n++] = (byte)(0x80 | (cp & 0x3F));
            }
            else
            {
                dst[n++] = (byte)(0xF0 | (cp >> 18));
                dst[n++] = (byte)(0x80 | ((cp >> 12) & 0x3F));
                dst[n++] = (byte)(0x80 | ((cp >> 6) & 0x3F));
                dst[n++] = (byte)(0x80 | (cp & 0x3F));
            }
        }
        return n;
    }
}
