using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using System.Text;

namespace Agent.Protocol.Json;

/// <summary>
/// Serialises values the way qemu's JSON writer does (qobject/qjson.c, to_json): ", " and ": " separators,
/// short escapes for \b \f \n \r \t, \uXXXX with UPPERCASE hex for other controls and every
/// code point >= 0x7F (surrogate pairs above the BMP), '/' not escaped, int64/uint64 decimal,
/// finite doubles as C "%.17g" (see WriteDouble for the rest). Output is pure ASCII on one line. Object members come out in qemu's
/// QDict order (<see cref="QDictOrder"/>), so replies are byte-identical to qemu-ga's.
/// </summary>
public static class JsonWriter
{
    private static ReadOnlySpan<byte> Hex => "0123456789ABCDEF"u8;

    public static void Write(JsonValue value, IBufferWriter<byte> output)
    {
        switch (value)
        {
            case JsonNull: Put(output, "null"u8); break;
            case JsonBool b: Put(output, b.Value ? "true"u8 : "false"u8); break;
            case JsonInt i: WriteNumber(output, i.Value); break;
            case JsonUInt u: WriteNumber(output, u.Value); break;
            case JsonDouble d: WriteDouble(output, d); break;
            case JsonString s: WriteString(output, s); break;
            case JsonArray a:
                Put(output, "["u8);
                for (int k = 0; k < a.Items.Count; k++)
                {
                    if (k > 0) Put(output, ", "u8);
                    Write(a.Items[k], output);
                }
                Put(output, "]"u8);
                break;
            case JsonObject o:
                WriteObject(output, o);
                break;
            case JsonEncoded e:
                if (output is ByteCounter counter) counter.Advance(e.Bytes.Length);
                else WriteBytes(output, e.Bytes);
                break;
            default:
                throw new ArgumentException($"unknown JSON value {value.GetType().Name}", nameof(value));
        }
    }

    public static string ToJson(JsonValue value)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        Write(value, buffer);
        return System.Text.Encoding.ASCII.GetString(buffer.WrittenSpan);
    }

    /// <summary>
    /// The number of bytes <see cref="Write"/> produces for <paramref name="value"/>, without keeping
    /// them: families use it to size a reply before they read the data that goes into it.
    /// </summary>
    public static long Measure(JsonValue value)
    {
        // One counter per thread: every reply line is measured, and a new one (with its scratch) was
        // ~0.6 KB of a ping's allocation (bench/README.md, "Per-request cost, round 3"). Write never measures.
        // Its scratch grows to the largest span asked for, at most ChunkHint, and is kept by the thread.
        var counter = t_counter ??= new ByteCounter();
        counter.Count = 0;
        Write(value, counter);
        return counter.Count;
    }

    [ThreadStatic] private static ByteCounter? t_counter;

    /// <summary>An <see cref="IBufferWriter{T}"/> that only counts; every span is the same scratch buffer.</summary>
    private sealed class ByteCounter : IBufferWriter<byte>
    {
        private byte[] _scratch = new byte[256];

        public long Count { get; set; }

        public void Advance(int count) => Count += count;

        public Memory<byte> GetMemory(int sizeHint = 0) => Scratch(sizeHint);

        public Span<byte> GetSpan(int sizeHint = 0) => Scratch(sizeHint).Span;

        private Memory<byte> Scratch(int sizeHint)
        {
            if (_scratch.Length < sizeHint) _scratch = new byte[sizeHint];
            return _scratch;
        }
    }

    private static void WriteObject(IBufferWriter<byte> output, JsonObject o)
    {
        int n = o.Members.Count;
        Span<int> order = n <= 64 ? stackalloc int[n] : new int[n];
        QDictOrder.Order(o.Members, order);
        Put(output, "{"u8);
        for (int k = 0; k < n; k++)
        {
            if (k > 0) Put(output, ", "u8);
            var m = o.Members[order[k]];
            WriteString(output, m.Key);
            Put(output, ": "u8);
            Write(m.Value, output);
        }
        Put(output, "}"u8);
    }

    private static void Put(IBufferWriter<byte> output, ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(output.GetSpan(bytes.Length));
        output.Advance(bytes.Length);
    }

    /// <summary>Bytes copied as they are, in spans of at most <see cref="ChunkHint"/>.</summary>
    private static void WriteBytes(IBufferWriter<byte> output, ReadOnlySpan<byte> bytes)
    {
        while (bytes.Length > 0)
        {
            var span = output.GetSpan(Math.Min(bytes.Length, ChunkHint));
            int n = Math.Min(bytes.Length, span.Length);
            bytes[..n].CopyTo(span);
            output.Advance(n);
            bytes = bytes[n..];
        }
    }

    private static void WriteNumber(IBufferWriter<byte> output, long value)
    {
        var span = output.GetSpan(20);
        Utf8Formatter.TryFormat(value, span, out int written);
        output.Advance(written);
    }

    private static void WriteNumber(IBufferWriter<byte> output, ulong value)
    {
        var span = output.GetSpan(20);
        Utf8Formatter.TryFormat(value, span, out int written);
        output.Advance(written);
    }

    /// <summary>
    /// Finite doubles as qemu writes them. Where qemu-ga would write inf or nan (not JSON), the number
    /// the host sent is echoed as it was written, and a computed non-finite value becomes null.
    /// </summary>
    private static void WriteDouble(IBufferWriter<byte> output, JsonDouble d)
    {
        if (double.IsFinite(d.Value)) Put(output, System.Text.Encoding.ASCII.GetBytes(FormatG17(d.Value)));
        else Put(output, d.Literal is { } literal ? System.Text.Encoding.ASCII.GetBytes(literal) : "null"u8);
    }

    /// <summary>C's printf("%.17g") for a double (glibc spelling of inf and nan).</summary>
    public static string FormatG17(double d)
    {
        if (double.IsNaN(d)) return double.IsNegative(d) ? "-nan" : "nan";
        if (double.IsInfinity(d)) return d > 0 ? "inf" : "-inf";
        if (d == 0) return double.IsNegative(d) ? "-0" : "0";

        // "E16" gives the 17 significant digits, correctly rounded: d.dddddddddddddddde+XXX
        string e = d.ToString("E16", CultureInfo.InvariantCulture);
        bool negative = e[0] == '-';
        int start = negative ? 1 : 0;
        int ePos = e.IndexOf('E');
        string digits = e[start].ToString() + e.Substring(start + 2, ePos - start - 2);
        int exponent = int.Parse(e.AsSpan(ePos + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);

        var sb = new StringBuilder(32);
        if (negative) sb.Append('-');
        if (exponent < -4 || exponent >= 17)
        {
            string mantissa = digits.TrimEnd('0');
            sb.Append(mantissa[0]);
            if (mantissa.Length > 1) sb.Append('.').Append(mantissa, 1, mantissa.Length - 1);
            sb.Append('e').Append(exponent < 0 ? '-' : '+');
            sb.Append(Math.Abs(exponent).ToString("00", CultureInfo.InvariantCulture));
        }
        else if (exponent >= 0)
        {
            string intPart = digits[..(exponent + 1)];
            string frac = digits[(exponent + 1)..].TrimEnd('0');
            sb.Append(intPart);
            if (frac.Length > 0) sb.Append('.').Append(frac);
        }
        else
        {
            string frac = (new string('0', -exponent - 1) + digits).TrimEnd('0');
            sb.Append("0.").Append(frac);
        }
        return sb.ToString();
    }

    // Spans asked of the output at most this large, so a long string is written in pieces and the
    // output can be built of small pooled chunks instead of one large-object-heap buffer.
    private const int ChunkHint = 64 * 1024;

    private static void WriteString(IBufferWriter<byte> output, JsonString s)
    {
        if (s.TryGetBase64Data(out var data)) WriteBase64(output, data);
        else if (s.TryGetAscii(out var ascii)) WriteAscii(output, ascii.Span);
        else WriteString(output, s.Value);
    }

    /// <summary>
    /// The base64 text of <paramref name="data"/> as a string, encoded straight into the output from
    /// its pieces: a group of three bytes that spans two pieces is encoded from a copy of its bytes.
    /// </summary>
    private static void WriteBase64(IBufferWriter<byte> output, in ReadOnlySequence<byte> data)
    {
        if (output is ByteCounter counter)
        {
            counter.Advance((int)Agent.Protocol.Encoding.Base64Text.Length(data.Length) + 2);
            return;
        }
        if (output is ChunkedText.Builder chunked)
        {
            // Encoded later, a chunk at a time, as the line is written.
            Put(output, "\""u8);
            chunked.AddBase64(data);
            Put(output, "\""u8);
            return;
        }
        Put(output, "\""u8);
        Span<byte> group = stackalloc byte[3];
        var pending = 0;
        var after = data.Length; // bytes after the current piece
        foreach (var piece in data)
        {
            var span = piece.Span;
            after -= span.Length;
            if (pending > 0)
            {
                var fill = Math.Min(3 - pending, span.Length);
                span[..fill].CopyTo(group[pending..]);
                pending += fill;
                span = span[fill..];
                if (pending < 3 && after > 0) continue;
                WriteBase64Run(output, group[..pending]);
                pending = 0;
            }
            var tail = after > 0 ? span.Length % 3 : 0;
            WriteBase64Run(output, span[..^tail]);
            span[^tail..].CopyTo(group);
            pending = tail;
        }
        Put(output, "\""u8);
    }

    /// <summary>Encodes whole groups of three bytes, or the last bytes of the data with padding.</summary>
    private static void WriteBase64Run(IBufferWriter<byte> output, ReadOnlySpan<byte> data)
    {
        while (data.Length > 0)
        {
            // Whole groups of three bytes per span, so only the last piece carries padding.
            var span = output.GetSpan((int)Math.Min(Agent.Protocol.Encoding.Base64Text.Length(data.Length), ChunkHint));
            int take = Math.Min(data.Length, span.Length / 4 * 3);
            Base64.EncodeToUtf8(data[..take], span, out _, out int written, isFinalBlock: take == data.Length);
            output.Advance(written);
            data = data[take..];
        }
    }

    /// <summary>A string held as ASCII bytes: runs that need no escape are copied as they are.</summary>
    private static void WriteAscii(IBufferWriter<byte> output, ReadOnlySpan<byte> s)
    {
        Put(output, "\""u8);
        while (s.Length > 0)
        {
            int run = s.IndexOfAnyExcept(PlainBytes);
            if (run < 0) run = s.Length;
            while (run > 0)
            {
                var span = output.GetSpan(Math.Min(run, ChunkHint));
                int n = Math.Min(run, span.Length);
                s[..n].CopyTo(span);
                output.Advance(n);
                s = s[n..];
                run -= n;
            }
            if (s.Length == 0) break;
            var escape = output.GetSpan(6);
            int pos = 0;
            switch (s[0])
            {
                case (byte)'"': escape[pos++] = (byte)'\\'; escape[pos++] = (byte)'"'; break;
                case (byte)'\\': escape[pos++] = (byte)'\\'; escape[pos++] = (byte)'\\'; break;
                case (byte)'\b': escape[pos++] = (byte)'\\'; escape[pos++] = (byte)'b'; break;
                case (byte)'\f': escape[pos++] = (byte)'\\'; escape[pos++] = (byte)'f'; break;
                case (byte)'\n': escape[pos++] = (byte)'\\'; escape[pos++] = (byte)'n'; break;
                case (byte)'\r': escape[pos++] = (byte)'\\'; escape[pos++] = (byte)'r'; break;
                case (byte)'\t': escape[pos++] = (byte)'\\'; escape[pos++] = (byte)'t'; break;
                default: pos += Escape(escape, s[0]); break;
            }
            output.Advance(pos);
            s = s[1..];
        }
        Put(output, "\""u8);
    }

    private static readonly SearchValues<byte> PlainBytes = SearchValues.Create(
        Enumerable.Range(0x20, 0x7F - 0x20).Select(c => (byte)c).Where(c => c is not ((byte)'"' or (byte)'\\')).ToArray());

    private static void WriteString(IBufferWriter<byte> output, string s)
    {
        var span = output.GetSpan(Math.Min(s.Length + 2, ChunkHint));
        int pos = 0;
        span[pos++] = (byte)'"';
        for (int i = 0; i < s.Length; i++)
        {
            // Runs of printable ASCII other than '"' and '\\' are copied as they are, vectorized: a
            // guest-file-read or guest-exec-status reply is one long base64 string.
            int run = s.AsSpan(i).IndexOfAnyExcept(Plain);
            if (run != 0)
            {
                if (run < 0) run = s.Length - i;
                while (run > 0)
                {
                    if (span.Length - pos < 15)
                    {
                        output.Advance(pos);
                        span = output.GetSpan(Math.Min(run + 14, ChunkHint));
                        pos = 0;
                    }
                    int n = Math.Min(run, span.Length - pos - 14);
                    Ascii.FromUtf16(s.AsSpan(i, n), span[pos..], out _);
                    pos += n;
                    i += n;
                    run -= n;
                }
                if (i == s.Length) break;
            }
            // Worst case per char: a surrogate pair written as two \uXXXX escapes.
            if (span.Length - pos < 14)
            {
                output.Advance(pos);
                span = output.GetSpan(Math.Clamp(s.Length - i + 14, 64, ChunkHint));
                pos = 0;
            }
            int cp = s[i];
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
                cp = char.ConvertToUtf32(s[i], s[++i]);
            else if (char.IsSurrogate(s[i]) || ModifiedUtf8.IsNonCharacter(cp))
                cp = 0xFFFD; // qemu's writer replaces what mod-UTF-8 decoding rejects

            switch (cp)
            {
                case '"': span[pos++] = (byte)'\\'; span[pos++] = (byte)'"'; break;
                case '\\': span[pos++] = (byte)'\\'; span[pos++] = (byte)'\\'; break;
                case '\b': span[pos++] = (byte)'\\'; span[pos++] = (byte)'b'; break;
                case '\f': span[pos++] = (byte)'\\'; span[pos++] = (byte)'f'; break;
                case '\n': span[pos++] = (byte)'\\'; span[pos++] = (byte)'n'; break;
                case '\r': span[pos++] = (byte)'\\'; span[pos++] = (byte)'r'; break;
                case '\t': span[pos++] = (byte)'\\'; span[pos++] = (byte)'t'; break;
                default:
                    if (cp > 0xFFFF)
                    {
                        pos += Escape(span[pos..], 0xD800 + ((cp - 0x10000) >> 10));
                        pos += Escape(span[pos..], 0xDC00 + ((cp - 0x10000) & 0x3FF));
                    }
                    else if (cp < 0x20 || cp >= 0x7F)
                    {
                        pos += Escape(span[pos..], cp);
                    }
                    else
                    {
                        span[pos++] = (byte)cp;
                    }
                    break;
            }
        }
        if (span.Length - pos < 1)
        {
            output.Advance(pos);
            span = output.GetSpan(1);
            pos = 0;
        }
        span[pos++] = (byte)'"';
        output.Advance(pos);
    }

    private static readonly SearchValues<char> Plain = SearchValues.Create(
        Enumerable.Range(0x20, 0x7F - 0x20).Select(c => (char)c).Where(c => c is not ('"' or '\\')).ToArray());

    private static int Escape(Span<byte> dst, int cp)
    {
        dst[0] = (byte)'\\';
        dst[1] = (byte)'u';
        dst[2] = Hex[(cp >> 12) & 0xF];
        dst[3] = Hex[(cp >> 8) & 0xF];
        dst[4] = Hex[(cp >> 4) & 0xF];
        dst[5] = Hex[cp & 0xF];
        return 6;
    }
}
