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
        var line = Line(reply, delimited);
        if (line.Length <= maxLineBytes) return line;
        var tooLong = QmpError.Generic($"the reply would exceed agent.channel.max-reply-bytes ({maxLineBytes})");
        line = Line(Error(tooLong, reply["id"]), delimited);
        return line.Length <= maxLineBytes ? line : Line(Error(tooLong, null), delimited);
    }

    /// <summary>The bytes of one reply line: JSON + "\n", with a leading 0xFF when delimited.</summary>
    public static byte[] Line(JsonObject reply, bool delimited = false)
    {
        using var buffer = new ChunkedBuffer();
        if (delimited)
        {
            buffer.GetSpan(1)[0] = 0xFF;
            buffer.Advance(1);
        }
        JsonWriter.Write(reply, buffer);
        buffer.GetSpan(1)[0] = (byte)'\n';
        buffer.Advance(1);
        return buffer.ToArray();
    }

    /// <summary>
    /// Pooled 64 KiB chunks, copied once into the exact-size line: a large reply (a file read, exec
    /// output) costs its own size once, not a doubling buffer's capacity plus a copy (bench/README.md).
    /// </summary>
    private sealed class ChunkedBuffer : IBufferWriter<byte>, IDisposable
    {
        private const int ChunkSize = 64 * 1024;
        private List<(byte[] Array, int Used)>? _full; // only past the first chunk: most replies are short
        private byte[] _current = ArrayPool<byte>.Shared.Rent(256);
        private int _used;
        private long _length;

        public void Advance(int count)
        {
            _used += count;
            _length += count;
        }

        public Memory<byte> GetMemory(int sizeHint = 0)
        {
            sizeHint = Math.Max(sizeHint, 1);
            if (_current.Length - _used < sizeHint)
            {
                (_full ??= []).Add((_current, _used));
                _current = ArrayPool<byte>.Shared.Rent(Math.Max(sizeHint, ChunkSize));
                _used = 0;
            }
            return _current.AsMemory(_used);
        }

        public Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;

        public byte[] ToArray()
        {
            var line = GC.AllocateUninitializedArray<byte>(checked((int)_length));
            var at = 0;
            if (_full is not null)
                foreach (var (array, used) in _full)
                {
                    array.AsSpan(0, used).CopyTo(line.AsSpan(at));
                    at += used;
                }
            _current.AsSpan(0, _used).CopyTo(line.AsSpan(at));
            return line;
        }

        public void Dispose()
        {
            if (_full is not null)
                foreach (var (array, _) in _full) ArrayPool<byte>.Shared.Return(array);
            _full = null;
            ArrayPool<byte>.Shared.Return(_current);
        }
    }
}
