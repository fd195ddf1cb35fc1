using System.Buffers;
using Agent.Protocol.Json;

namespace Agent.Protocol.Envelope;

/// <summary>Builds reply objects; the writer turns them into one line each.</summary>
public static class Replies
{
    /// <summary>{"return": value, "id": id?}</summary>
    public static JsonObject Return(JsonValue value, JsonValue? id) =>
        JsonObject.Of(("return", value), ("id", id));

    /// <summary>{"error": {"class": .., "desc": ..}, "id": id?}</summary>
    public static JsonObject Error(QmpError error, JsonValue? id) =>
        JsonObject.Of(
            ("error", JsonObject.Of(("class", new JsonString(error.Class)), ("desc", new JsonString(error.Desc)))),
            ("id", id));

    /// <summary>
    /// Bytes the return value of a request with <paramref name="id"/> may take so that its reply line
    /// (JSON, '\n', and the 0xFF of a delimited reply) stays within <paramref name="maxLineBytes"/>.
    /// Negative when the id alone does not fit.
    /// </summary>
    public static long ReturnBudget(long maxLineBytes, JsonValue? id, bool delimited = false) =>
        maxLineBytes - ReturnOverhead - (id is null ? 0 : IdMemberOverhead + JsonWriter.Measure(id)) - 1 - (delimited ? 1 : 0);

    // {"return": } and , "id": around the value and the id, in whichever order they are written;
    // computed once, as every request needs its budget.
    private static readonly long ReturnOverhead = JsonWriter.Measure(Return(JsonNull.Instance, null)) - "null".Length;
    private static readonly long IdMemberOverhead =
        JsonWriter.Measure(Return(JsonNull.Instance, JsonNull.Instance)) - ReturnOverhead - 2 * "null".Length;

    /// <summary>
    /// The line of <paramref name="reply"/>, or, when that would be longer than <paramref name="maxLineBytes"/>
    /// (an error that echoes a huge command name or token, a huge id), a GenericError line that says so:
    /// with the reply's id when that still fits, else without. No line ever exceeds the limit.
    /// </summary>
    public static byte[] LineWithin(JsonObject reply, long maxLineBytes, bool delimited = false)
    {
        // Measured once: a reply's tree is walked to measure it and to write it, not twice to measure.
        var within = Within(reply, maxLineBytes, delimited, out var length);
        return Line(within, delimited, length);
    }

    /// <summary>
    /// Lines longer than this are not built whole but written in chunks as the transport drains
    /// (<see cref="ChunkedLineWithin"/>). Shorter ones cost a copy of themselves at most, and are the
    /// lines the channel batches (bench/README.md, "Large replies streamed"). Above a 48 KiB
    /// guest-file-read's line (~65.6 KB: the usual read size) so that one still goes out in one write.
    /// </summary>
    public const int ChunkedAbove = 128 * 1024;

    /// <summary>
    /// <see cref="LineWithin"/>'s line: as bytes when it is at most <see cref="ChunkedAbove"/> long, else
    /// as text encoded a chunk at a time when written. Exactly one of the two is set.
    /// </summary>
    public static (byte[]? Line, ChunkedText? Chunked) ChunkedLineWithin(JsonObject reply, long maxLineBytes, bool delimited = false)
    {
        var within = Within(reply, maxLineBytes, delimited, out var length);
        return length <= ChunkedAbove ? (Line(within, delimited, length), null) : (null, ChunkedLine(within, delimited));
    }

    /// <summary>The bytes of <see cref="Line"/>, collected as parts whose base64 data is encoded only when written.</summary>
    public static ChunkedText ChunkedLine(JsonObject reply, bool delimited = false)
    {
        var output = new ChunkedText.Builder();
        WriteLine(reply, delimited, output);
        return output.Build();
    }

    /// <summary>The reply, or the error that replaces it when its line would be too long; and that line's length.</summary>
    private static JsonObject Within(JsonObject reply, long maxLineBytes, bool delimited, out long length)
    {
        length = LineLength(reply, delimited);
        if (length <= maxLineBytes) return reply;
        var tooLong = QmpError.Generic($"the reply would exceed agent.channel.max-reply-bytes ({maxLineBytes})");
        var error = Error(tooLong, reply["id"]);
        length = LineLength(error, delimited);
        if (length <= maxLineBytes) return error;
        error = Error(tooLong, null);
        length = LineLength(error, delimited);
        return error;
    }

    /// <summary>The bytes of one reply line: JSON + "\n", with a leading 0xFF when delimited.</summary>
    public static byte[] Line(JsonObject reply, bool delimited = false) => Line(reply, delimited, LineLength(reply, delimited));

    private static byte[] Line(JsonObject reply, bool delimited, long length)
    {
        // Measured first, then written straight into the exact array: a large reply (a file read, exec
        // output) costs its own size once, with no buffer to grow, copy or return (bench/README.md).
        var line = GC.AllocateUninitializedArray<byte>(checked((int)length)); // every byte is written
        var output = new ExactWriter(line);
        WriteLine(reply, delimited, output);
        output.Finish();
        return line;
    }

    /// <summary>The line's bytes: 0xFF first when delimited, the JSON, "\n".</summary>
    private static void WriteLine(JsonObject reply, bool delimited, IBufferWriter<byte> output)
    {
        if (delimited)
        {
            output.GetSpan(1)[0] = 0xFF;
            output.Advance(1);
        }
        JsonWriter.Write(reply, output);
        output.GetSpan(1)[0] = (byte)'\n';
        output.Advance(1);
    }

    private static long LineLength(JsonObject reply, bool delimited) => (delimited ? 1 : 0) + JsonWriter.Measure(reply) + 1;

    /// <summary>
    /// Writes into an array of the measured size. A span asked for near the end may be larger than
    /// what is left (a writer asks for room for an escape or a number): it is then a scratch buffer,
    /// copied in by Advance.
    /// </summary>
    private sealed class ExactWriter(byte[] line) : IBufferWriter<byte>
    {
        private int _at;
        private byte[]? _scratch;
        private bool _inScratch;

        public void Advance(int count)
        {
            if (_inScratch)
            {
                _scratch.AsSpan(0, count).CopyTo(line.AsSpan(_at));
                _inScratch = false;
            }
            _at += count;
        }

        public Memory<byte> GetMemory(int sizeHint = 0)
        {
            sizeHint = Math.Max(sizeHint, 1);
            if (line.Length - _at >= sizeHint) return line.AsMemory(_at);
            if (_scratch is null || _scratch.Length < sizeHint) _scratch = new byte[Math.Max(sizeHint, 64)];
            _inScratch = true;
            return _scratch;
        }

        public Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;

        public void Finish()
        {
            if (_at != line.Length) throw new InvalidOperationException($"reply measured {line.Length} bytes, written {_at}");
        }
    }
}
