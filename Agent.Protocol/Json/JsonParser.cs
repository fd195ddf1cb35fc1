using System.Globalization;
using System.Text;

namespace Agent.Protocol.Json;

/// <summary>
/// qemu's json-parser over one message's tokens: recursive descent, the first error wins, and
/// every error text carries the "JSON parse error, " prefix.
/// </summary>
internal sealed class JsonParser
{
    // qemu formats parser messages into a 1024-byte buffer.
    private const int MaxMessageBytes = 1023;

    private List<JsonToken> _tokens = null!;
    private byte[] _text = null!;
    private bool _textIsKept;
    private int _next;
    private string? _error;
    // Member lists of the objects being parsed, kept for the next message: a parser serves one thread.
    private readonly Stack<List<KeyValuePair<string, JsonValue>>> _spareMembers = new();

    [ThreadStatic] private static JsonParser? t_spare;

    // Escape-free ASCII strings at least this long stay bytes (JsonString.FromAscii).
    private const int AsciiStringBytes = 1024;


    /// <summary>
    /// <paramref name="textIsKept"/>: the caller never reuses <paramref name="text"/>, so large strings
    /// may point into it instead of being copied.
    /// </summary>
    public static StreamItem Parse(List<JsonToken> tokens, byte[] text, bool textIsKept = false)
    {
        // One parser per thread, reused: a request is parsed on the channel's thread, message after message.
        var parser = t_spare ?? new JsonParser();
        t_spare = null;
        parser._tokens = tokens;
        parser._text = text;
        parser._textIsKept = textIsKept;
        parser._next = 0;
        parser._error = null;
        try
        {
            var value = parser.ParseValue();
            return parser._error is { } error ? new StreamError(error) : new StreamValue(value!);
        }
        finally
        {
            parser._tokens = null!;
            parser._text = null!;
            t_spare = parser;
        }
    }

    private JsonToken? Peek() => _next < _tokens.Count ? _tokens[_next] : null;

    private JsonToken? Pop() => _next < _tokens.Count ? _tokens[_next++] : null;

    private ReadOnlySpan<byte> Text(JsonToken token) => _text.AsSpan(token.Start, token.Length);

    private void Fail(string message)
    {
        if (_error is not null) return;
        var bytes = System.Text.Encoding.UTF8.GetBytes(message);
        if (bytes.Length > MaxMessageBytes) message = ModifiedUtf8.ToDisplayString(bytes.AsSpan(0, MaxMessageBytes));
        _error = "JSON parse error, " + message;
    }

    private JsonValue? ParseValue()
    {
        if (Peek() is not { } token)
        {
            Fail("premature EOI");
            return null;
        }
        switch (token.Type)
        {
            case TokenType.LCurly: return ParseObject();
            case TokenType.LSquare: return ParseArray();
            case TokenType.Integer:
            case TokenType.Float:
                _next++;
                return ParseNumber(token);
            case TokenType.String:
                _next++;
                return ParseString(token);
            case TokenType.Keyword:
                _next++;
                return ParseKeyword(token);
            default:
                Fail("expecting value");
                return null;
        }
    }

    private JsonObject? ParseObject()
    {
        var members = _spareMembers.TryPop(out var spare) ? spare : new List<KeyValuePair<string, JsonValue>>();
        try
        {
            return ParseObject(members);
        }
        finally
        {
            members.Clear();
            _spareMembers.Push(members);
        }
    }

    private JsonObject? ParseObject(List<KeyValuePair<string, JsonValue>> members)
    {
        Pop();
        if (Peek() is not { } peek)
        {
            Fail("premature EOI");
            return null;
        }
        if (peek.Type == TokenType.RCurly)
        {
            Pop();
            return new JsonObject(members.ToArray());
        }
        if (!ParsePair(members)) return null;
        while (true)
        {
            if (Pop() is not { } token)
            {
                Fail("premature EOI");
                return null;
            }
            if (token.Type == TokenType.RCurly) return new JsonObject(members.ToArray());
            if (token.Type != TokenType.Comma)
            {
                Fail("expected separator in dict");
                return null;
            }
            if (!ParsePair(members)) return null;
        }
    }

    private bool ParsePair(List<KeyValuePair<string, JsonValue>> members)
    {
        if (Peek() is null)
        {
            Fail("premature EOI");
            return false;
        }
        if (ParseValue() is not JsonString key)
        {
            Fail("key is not a string in object");
            return false;
        }
        if (Pop() is not { } colon)
        {
            Fail("premature EOI");
            return false;
        }
        if (colon.Type != TokenType.Colon)
        {
            Fail("missing : in object pair");
            return false;
        }
        if (ParseValue() is not { } value)
        {
            Fail("Missing value in dict");
            return false;
        }
        foreach (var m in members)
        {
            if (m.Key == key.Value)
            {
                Fail("duplicate key");
                return false;
            }
        }
        members.Add(new(key.Value, value));
        return true;
    }

    private JsonArray? ParseArray()
    {
        Pop();
        var items = new List<JsonValue>();
        if (Peek() is not { } peek)
        {
            Fail("premature EOI");
            return null;
        }
        if (peek.Type == TokenType.RSquare)
        {
            Pop();
            return new JsonArray(items.ToArray());
        }
        while (true)
        {
            if (ParseValue() is not { } item)
            {
                Fail("expecting value");
                return null;
            }
            items.Add(item);
            if (Pop() is not { } token)
            {
                Fail("premature EOI");
                return null;
            }
            if (token.Type == TokenType.RSquare) return new JsonArray(items.ToArray());
            if (token.Type != TokenType.Comma)
            {
                Fail("expected separator in list");
                return null;
            }
        }
    }

    private JsonValue? ParseKeyword(JsonToken token)
    {
        var text = Text(token);
        if (text.SequenceEqual("true"u8)) return JsonBool.True;
        if (text.SequenceEqual("false"u8)) return JsonBool.False;
        if (text.SequenceEqual("null"u8)) return JsonNull.Instance;
        Fail($"invalid keyword '{System.Text.Encoding.ASCII.GetString(text)}'");
        return null;
    }

    private JsonValue ParseNumber(JsonToken token)
    {
        var text = Text(token);
        if (token.Type == TokenType.Integer)
        {
            // int64 if it fits, else uint64 for non-negatives, else a double (qemu's QNum kinds).
            if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long l))
                return new JsonInt(l);
            if (text[0] != '-' && ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out ulong u))
                return new JsonUInt(u);
        }
        var d = double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);
        return double.IsFinite(d) ? new JsonDouble(d) : new JsonDouble(d) { Literal = System.Text.Encoding.ASCII.GetString(text) };
    }

    // Short plain strings recur in every request (member names, command names): each is kept in a slot
    // chosen by its bytes and handed out again while the same text comes back, instead of two allocations.
    private const int RecentMaxBytes = 32;
    [ThreadStatic] private static JsonString?[]? t_recent;

    private static JsonString Recent(ReadOnlySpan<byte> ascii)
    {
        var recent = t_recent ??= new JsonString?[256];
        var hash = 2166136261u;
        foreach (var b in ascii) hash = (hash ^ b) * 16777619u;
        ref var slot = ref recent[(hash ^ (hash >> 8)) & 255];
        if (slot is { } hit && IsText(hit.Value, ascii)) return hit;
        return slot = new JsonString(System.Text.Encoding.ASCII.GetString(ascii));
    }

    private static bool IsText(string text, ReadOnlySpan<byte> ascii)
    {
        if (text.Length != ascii.Length) return false;
        for (var i = 0; i < ascii.Length; i++)
            if (text[i] != ascii[i]) return false;
        return true;
    }

    // What keeps a string off the fast path: escapes and multi-byte sequences. Short content by a byte
    // loop (names, mostly), long content by the vector scan (see JsonStreamer.PlainRun).
    private static bool IsPlain(ReadOnlySpan<byte> content)
    {
        if (content.Length > RecentMaxBytes) return ByteScan.IndexOfNonAsciiOr(content, (byte)'\\', (byte)'\\') < 0;
        foreach (var b in content)
            if (b >= 0x80 || b == (byte)'\\') return false;
        return true;
    }

    private JsonString? ParseString(JsonToken token)
    {
        var s = Text(token);
        byte quote = s[0];
        // Plain ASCII without escapes (base64 payloads, most names) becomes the string in one allocation.
        var content = s[1..^1];
        if (IsPlain(content))
        {
            if (content.Length <= RecentMaxBytes) return Recent(content);
            if (content.Length < AsciiStringBytes) return new JsonString(System.Text.Encoding.ASCII.GetString(content));
            return JsonString.FromAscii(_textIsKept ? _text.AsMemory(token.Start + 1, content.Length) : content.ToArray());
        }
        var sb = new StringBuilder(s.Length);
        int i = 1;
        while (s[i] != quote)
        {
            if (s[i] == (byte)'\\')
            {
                int begin = i++;
                byte e = At(s, i++);
                switch (e)
                {
                    case (byte)'"': sb.Append('"'); break;
                    case (byte)'\'': sb.Append('\''); break;
                    case (byte)'\\': sb.Append('\\'); break;
                    case (byte)'/': sb.Append('/'); break;
                    case (byte)'b': sb.Append('\b'); break;
                    case (byte)'f': sb.Append('\f'); break;
                    case (byte)'n': sb.Append('\n'); break;
                    case (byte)'r': sb.Append('\r'); break;
                    case (byte)'t': sb.Append('\t'); break;
                    case (byte)'u':
                        int cp = Hex4(s, i);
                        i += 4;
                        if (cp is >= 0xD800 and <= 0xDBFF && At(s, i) == (byte)'\\' && At(s, i + 1) == (byte)'u')
                        {
                            cp = 0x10000 + ((cp & 0x3FF) << 10);
                            int trailing = Hex4(s, i + 2);
                            if (trailing is >= 0xDC00 and <= 0xDFFF)
                            {
                                cp |= trailing & 0x3FF;
                                i += 6;
                            }
                            else
                            {
                                cp = -1;
                            }
                        }
                        if (!ModifiedUtf8.IsValidCodePoint(cp))
                        {
                            // qemu prints the escape with "%.*s", which stops at the token's end.
                            int end = Math.Min(i, s.Length);
                            Fail(ModifiedUtf8.ToDisplayString(s[begin..end]) + " is not a valid Unicode character");
                            return null;
                        }
                        sb.AppendCodePoint(cp);
                        break;
                    default:
                        Fail("invalid escape sequence in string");
                        return null;
                }
            }
            else if (s[i] < 0x80)
            {
                // A run of plain ASCII up to the next escape, quote or multi-byte sequence.
                int run = ByteScan.IndexOfNonAsciiOr(s[i..], (byte)'\\', quote);
                foreach (byte b in s.Slice(i, run)) sb.Append((char)b);
                i += run;
            }
            else
            {
                int cp = ModifiedUtf8.Decode(s[i..], out int n);
                if (cp < 0)
                {
                    Fail("invalid UTF-8 sequence in string");
                    return null;
                }
                sb.AppendCodePoint(cp);
                i += n;
            }
        }
        return new JsonString(sb.ToString());
    }

    private static byte At(ReadOnlySpan<byte> s, int i) => i < s.Length ? s[i] : (byte)0;

    private static int Hex4(ReadOnlySpan<byte> s, int i)
    {
        int cp = 0;
        for (int k = 0; k < 4; k++)
        {
            int d = HexDigit(At(s, i + k));
            if (d < 0) return -1;
            cp = (cp << 4) | d;
        }
        return cp;
    }

    private static int HexDigit(byte c) => c switch
    {
        >= (byte)'0' and <= (byte)'9' => c - '0',
        >= (byte)'a' and <= (byte)'f' => c - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => c - 'A' + 10,
        _ => -1,
    };
}
