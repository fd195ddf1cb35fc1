using JsonNode = System.Text.Json.Nodes.JsonNode;
using Agent.Protocol.Json;
using Nodes = System.Text.Json.Nodes;

namespace Agent.Tests.Commands;

/// <summary>Conversions between the agent's JSON model and System.Text.Json nodes, for assertions.</summary>
public static class Json
{
    public static JsonNode? Node(JsonValue value) => value switch
    {
        JsonNull => null,
        JsonBool b => Nodes.JsonValue.Create(b.Value),
        JsonInt i => Nodes.JsonValue.Create(i.Value),
        JsonUInt u => Nodes.JsonValue.Create(u.Value),
        JsonDouble d => Nodes.JsonValue.Create(d.Value),
        JsonString s => Nodes.JsonValue.Create(s.Value),
        JsonArray a => new Nodes.JsonArray(a.Items.Select(Node).ToArray()),
        JsonObject o => new Nodes.JsonObject(o.Members.Select(m => KeyValuePair.Create(m.Key, Node(m.Value)))),
        JsonEncoded e => JsonNode.Parse(global::System.Text.Encoding.ASCII.GetString(e.Bytes)),
        _ => throw new ArgumentOutOfRangeException(nameof(value)),
    };

    /// <summary>Compact JSON in the value's own member order.</summary>
    public static string Text(JsonValue value) => Node(value)?.ToJsonString() ?? "null";

    /// <summary>Re-serializes expected JSON written by hand, so whitespace in the test source does not matter.</summary>
    public static string Canonical(string json) => JsonNode.Parse(json)?.ToJsonString() ?? "null";
}
