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
        maxLineBytes - (JsonWriter.Measure(Return(JsonNull.Instance, id)) - "null".Length) - 1 - (delimited ? 1 : 0);

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
        var buffer = new ArrayBufferWriter<byte>(128);
        if (delimited)
        {
            buffer.GetSpan(1)[0] = 0xFF;
            buffer.Advance(1);
        }
        JsonWriter.Write(reply, buffer);
        buffer.GetSpan(1)[0] = (byte)'\n';
        buffer.Advance(1);
        return buffer.WrittenSpan.ToArray();
    }
}
