using Agent.Protocol.Json;

namespace Agent.Protocol.Envelope;

/// <summary>Builds reply objects; the writer turns them into one line each.</summary>
public static class Replies
{
    /// <summary>{"return": value, "id": id?}</summary>
    public static JsonObject Return(JsonValue value, JsonValue? id) => throw new NotImplementedException();

    /// <summary>{"error": {"class": .., "desc": ..}, "id": id?}</summary>
    public static JsonObject Error(QmpError error, JsonValue? id) => throw new NotImplementedException();

    /// <summary>The bytes of one reply line: JSON + "\n", with a leading 0xFF when delimited.</summary>
    public static byte[] Line(JsonObject reply, bool delimited = false) => throw new NotImplementedException();
}
