using System.Buffers;

namespace Agent.Protocol.Json;

/// <summary>One thing the streamer produced from the byte stream, in stream order.</summary>
public abstract record StreamItem;

/// <summary>A complete top-level JSON value (any type: the envelope check rejects non-objects).</summary>
public sealed record StreamValue(JsonValue Value) : StreamItem;

/// <summary>
/// A lexer, parser or limit error. <see cref="Desc"/> is the exact qemu text, e.g.
/// "JSON parse error, stray '\uFFFD'" (with the real U+FFFD char) or "JSON token count limit exceeded".
/// Such errors are answered without an id.
/// </summary>
public sealed record StreamError(string Desc) : StreamItem;

/// <summary>
/// Incremental JSON splitter/parser reproducing qemu's json-lexer + json-streamer + json-parser
/// byte for byte (qobject/json-lexer.c, json-streamer.c, json-parser.c): feed any chunking of the stream, get the same items.
/// Not thread-safe; owned by one channel. State survives across calls (and client reconnects).
/// </summary>
public sealed class JsonStreamer
{
    public const long MaxTokenBytes = 64L << 20;
    public const long MaxTokenCount = 2L << 20;
    public const int MaxNesting = 1024;

    // Buffers above this size are released after a message so one huge message does not pin memory;
    // below it the queue is reused, so a stream of 48 KiB guest-file-writes (a 64 KiB base64 token
    // each) never regrows it.
    private const int RetainedCapacity = 256 * 1024;

    private enum State : byte
    {
        Start, Recovery, DqString, DqEscape, SqString, SqEscape,
        Zero, Sign, Digits, Mantissa, MantissaDigits, ExpE, ExpSign, ExpDigits, Keyword,
    }

    // What a byte does in a state: go to a state, finish a token, or fail.
    private const int ToError = 100;
    private const int ToToken = 200; // + TokenType

    private State _state = State.Start;

    // The message's bytes so far. The token being lexed is its tail (_tokenLength bytes after
    // _queueLength), so a large string is buffered once, not once as a token and again in the queue.
    private byte[] _queue = new byte[1024];
    private int _queueLength;
    private int _tokenLength;
    private readonly List<JsonToken> _tokens = [];
    private int _braces;
    private int _brackets;

    // Bytes that end a run of skipped input in recovery (a run of string content: ByteScan.IndexOfStringStop).
    private static readonly SearchValues<byte> Resync = SearchValues.Create(
        [.. StopBytes("[]{}:,").Where(b => b != (byte)'\t')]);

    private static byte[] StopBytes(string extra) =>
        [.. Enumerable.Range(0, 0x20).Select(b => (byte)b), 0xFE, 0xFF, .. extra.Select(c => (byte)c)];

    /// <summary>Feeds bytes; appends every completed item to <paramref name="output"/>.</summary>
    public void Feed(ReadOnlySpan<byte> data, List<StreamItem> output) => Feed(data, output, int.MaxValue);

    /// <summary>
    /// Feeds bytes until <paramref name="output"/> holds <paramref name="maxItems"/> items; returns how
    /// many bytes it took (the rest is fed later, so a burst is not parsed all at once).
    /// </summary>
    public int Feed(ReadOnlySpan<byte> data, List<StreamItem> output, int maxItems)
    {
        int i = 0;
        while (i < data.Length && output.Count < maxItems)
        {
            // Fast paths with the same outcome as byte-by-byte lexing: string content and skipped garbage.
            if (_state is State.DqString or State.SqString)
            {
                var rest = data[i..];
                int run = PlainRun(rest, _state == State.DqString ? (byte)'"' : (byte)'\'');
                if (run < 0) run = rest.Length;
                run = (int)Math.Min(run, MaxTokenBytes + 1 - _tokenLength);
                if (run > 0)
                {
                    AppendToToken(rest[..run]);
                    i += run;
                    if (_tokenLength > MaxTokenBytes) CutToken(output);
                    continue;
                }
            }
            else if (_state == State.Recovery)
            {
                int run = data[i..].IndexOfAny(Resync);
                if (run != 0)
                {
                    i = run < 0 ? data.Length : i + run;
                    continue;
                }
            }
            FeedByte(data[i++], output);
        }
        return i;
    }

    /// <summary>
    /// Where the plain content of a string ends in <paramref name="rest"/> (-1: not in it). The names
    /// of a request are short, and a byte loop beats the vector search's set-up for them (in the
    /// NativeAOT build its shuffle is a call, not an instruction: bench/README.md, "Per-request cost").
    /// </summary>
    private static int PlainRun(ReadOnlySpan<byte> rest, byte quote)
    {
        var scalar = Math.Min(rest.Length, 32);
        for (var k = 0; k < scalar; k++)
        {
            var b = rest[k];
            if (b < 0x20 || b >= 0xFE || b == quote || b == (byte)'\\') return k;
        }
        if (scalar == rest.Length) return -1;
        var more = ByteScan.IndexOfStringStop(rest[scalar..], quote);
        return more < 0 ? -1 : scalar + more;
    }

    /// <summary>Bytes currently buffered for an incomplete message (for memory bounds in tests).</summary>
    public long PendingBytes => _queueLength + _tokenLength;

    private void FeedByte(byte c, List<StreamItem> output)
    {
        while (true)
        {
            int next = Next(_state, c, out bool lookahead);
            if (!lookahead) AppendToToken(c);

            if (next >= ToToken)
            {
                ProcessToken((TokenType)(next - ToToken), output);
                _tokenLength = 0;
                _state = State.Start;
            }
            else if (next == ToError)
            {
                Emit(new StreamError("JSON parse error, stray '" + ModifiedUtf8.ToDisplayString(_queue.AsSpan(_queueLength, _tokenLength)) + "'"), output);
                _tokenLength = 0;
                _state = State.Recovery;
            }
            else
            {
                var s = (State)next;
                if (s is State.Start or State.Recovery) _tokenLength = 0;
                _state = s;
            }
            if (!lookahead) break;
        }

        if (_tokenLength > MaxTokenBytes) CutToken(output);
    }

    // A single token is capped too; the oversized piece goes to the streamer, which rejects it.
    private void CutToken(List<StreamItem> output)
    {
        ProcessToken(TokenType.Partial, output);
        _tokenLength = 0;
        _state = State.Start;
    }

    private static int Next(State state, byte c, out bool lookahead)
    {
        lookahead = false;
        switch (state)
        {
            case State.Start:
                switch (c)
                {
                    case (byte)'"': return (int)State.DqString;
                    case (byte)'\'': return (int)State.SqString;
                    case (byte)'0': return (int)State.Zero;
                    case >= (byte)'1' and <= (byte)'9': return (int)State.Digits;
                    case (byte)'-': return (int)State.Sign;
                    case (byte)'{': return ToToken + (int)TokenType.LCurly;
                    case (byte)'}': return ToToken + (int)TokenType.RCurly;
                    case (byte)'[': return ToToken + (int)TokenType.LSquare;
                    case (byte)']': return ToToken + (int)TokenType.RSquare;
                    case (byte)',': return ToToken + (int)TokenType.Comma;
                    case (byte)':': return ToToken + (int)TokenType.Colon;
                    case >= (byte)'a' and <= (byte)'z': return (int)State.Keyword;
                    case (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n': return (int)State.Start;
                    default: return ToError;
                }
            case State.Recovery:
                // Resynchronise on structural characters, controls other than tab, and 0xFE/0xFF.
                if ((c < 0x20 && c != (byte)'\t') || c >= 0xFE ||
                    c is (byte)'[' or (byte)']' or (byte)'{' or (byte)'}' or (byte)':' or (byte)',')
                {
                    lookahead = true;
                    return (int)State.Start;
                }
                return (int)State.Recovery;
            case State.DqString:
            case State.SqString:
                if (c < 0x20 || c > 0xFD) return ToError;
                if (c == (byte)'\\') return (int)(state == State.DqString ? State.DqEscape : State.SqEscape);
                if (c == (state == State.DqString ? (byte)'"' : (byte)'\'')) return ToToken + (int)TokenType.String;
                return (int)state;
            case State.DqEscape:
                return c is >= 0x20 and <= 0xFD ? (int)State.DqString : ToError;
            case State.SqEscape:
                return c is >= 0x20 and <= 0xFD ? (int)State.SqString : ToError;
            case State.Zero:
                if (c is >= (byte)'0' and <= (byte)'9') return ToError;
                if (c == (byte)'.') return (int)State.Mantissa;
                lookahead = true;
                return ToToken + (int)TokenType.Integer;
            case State.Sign:
                if (c == (byte)'0') return (int)State.Zero;
                return c is >= (byte)'1' and <= (byte)'9' ? (int)State.Digits : ToError;
            case State.Digits:
                if (c is >= (byte)'0' and <= (byte)'9') return (int)State.Digits;
                if (c is (byte)'e' or (byte)'E') return (int)State.ExpE;
                if (c == (byte)'.') return (int)State.Mantissa;
                lookahead = true;
                return ToToken + (int)TokenType.Integer;
            case State.Mantissa:
                return c is >= (byte)'0' and <= (byte)'9' ? (int)State.MantissaDigits : ToError;
            case State.MantissaDigits:
                if (c is >= (byte)'0' and <= (byte)'9') return (int)State.MantissaDigits;
                if (c is (byte)'e' or (byte)'E') return (int)State.ExpE;
                lookahead = true;
                return ToToken + (int)TokenType.Float;
            case State.ExpE:
                if (c is (byte)'-' or (byte)'+') return (int)State.ExpSign;
                return c is >= (byte)'0' and <= (byte)'9' ? (int)State.ExpDigits : ToError;
            case State.ExpSign:
                return c is >= (byte)'0' and <= (byte)'9' ? (int)State.ExpDigits : ToError;
            case State.ExpDigits:
                if (c is >= (byte)'0' and <= (byte)'9') return (int)State.ExpDigits;
                lookahead = true;
                return ToToken + (int)TokenType.Float;
            case State.Keyword:
                if (c is >= (byte)'a' and <= (byte)'z') return (int)State.Keyword;
                lookahead = true;
                return ToToken + (int)TokenType.Keyword;
            default:
                throw new InvalidOperationException($"lexer state {state}");
        }
    }

    private void AppendToToken(ReadOnlySpan<byte> bytes)
    {
        var end = _queueLength + _tokenLength;
        if (end + bytes.Length > _queue.Length) Grow(end + bytes.Length);
        bytes.CopyTo(_queue.AsSpan(end));
        _tokenLength += bytes.Length;
    }

    private void AppendToToken(byte c)
    {
        var end = _queueLength + _tokenLength;
        if (end == _queue.Length) Grow(end + 1);
        _queue[end] = c;
        _tokenLength++;
    }

    // Past this the queue grows straight to the size limit (see Grow).
    private const int DoublingLimit = 1024 * 1024;

    private void Grow(int needed)
    {
        // Doubling up to 1 MiB, then straight to what the size limit can ever need (a 64 MiB message
        // plus one byte), uninitialized: the pages of a fresh large array are not touched until
        // written, so RSS follows the bytes buffered, and a 63 MiB message no longer leaves 64 MiB of
        // doubled copies behind for the GC (bench/README.md, "Memory").
        long doubled = (long)_queue.Length * 2;
        long capacity = Math.Max(doubled > DoublingLimit ? MaxTokenBytes + 1 : doubled, needed);
        var grown = GC.AllocateUninitializedArray<byte>((int)capacity);
        _queue.AsSpan(0, _queueLength + _tokenLength).CopyTo(grown);
        _queue = grown;
    }

    private void ProcessToken(TokenType type, List<StreamItem> output)
    {
        switch (type)
        {
            case TokenType.LCurly: _braces++; break;
            case TokenType.RCurly: _braces--; break;
            case TokenType.LSquare: _brackets++; break;
            case TokenType.RSquare: _brackets--; break;
        }

        // Limits per message, checked before the token is queued (the offending token is dropped).
        if ((long)_queueLength + _tokenLength + 1 > MaxTokenBytes)
        {
            Emit(new StreamError("JSON token size limit exceeded"), output);
            return;
        }
        if (_tokens.Count + 1 > MaxTokenCount)
        {
            Emit(new StreamError("JSON token count limit exceeded"), output);
            return;
        }
        if (_braces + _brackets > MaxNesting)
        {
            Emit(new StreamError("JSON nesting depth limit exceeded"), output);
            return;
        }

        _tokens.Add(new JsonToken(type, _queueLength, _tokenLength));
        _queueLength += _tokenLength;

        if ((_braces > 0 || _brackets > 0) && _braces >= 0 && _brackets >= 0) return;

        // A queue that Emit drops can be kept by the value: its large strings point into it.
        Emit(JsonParser.Parse(_tokens, _queue, textIsKept: _queue.Length > RetainedCapacity), output);
    }

    private void Emit(StreamItem item, List<StreamItem> output)
    {
        _braces = 0;
        _brackets = 0;
        _tokens.Clear();
        _queueLength = 0;
        if (_queue.Length > RetainedCapacity) _queue = new byte[1024];
        if (_tokens.Capacity > RetainedCapacity) _tokens.Capacity = 16;
        output.Add(item);
    }
}

internal enum TokenType : byte { LCurly, RCurly, LSquare, RSquare, Colon, Comma, Integer, Float, Keyword, String, Partial }

internal readonly record struct JsonToken(TokenType Type, int Start, int Length);
