using Agent.Protocol.Envelope;
using Agent.Protocol.Json;

namespace Agent.Tests.Protocol;

/// <summary>A value written once and copied into every reply (guest-info) gives the bytes of the tree it came from.</summary>
public class JsonEncodedSpecs
{
    public static TheoryData<JsonValue> Values => new()
    {
        JsonNull.Instance,
        JsonBool.True,
        new JsonInt(long.MinValue),
        new JsonUInt(ulong.MaxValue),
        new JsonDouble(0.15),
        new JsonString("quote \" backslash \\ tab \t bell \u0007 é 😀 \uD800 /"),
        new JsonArray([new JsonInt(1), new JsonString("x"), JsonObject.Empty]),
        // Members given out of qemu's QDict order: the encoded bytes keep the writer's order.
        JsonObject.Of(("version", new JsonString("10.2.50")), ("supported_commands", new JsonArray(
            Enumerable.Range(0, 200).Select(i => (JsonValue)JsonObject.Of(
                ("name", new JsonString($"guest-command-{i}")), ("enabled", JsonBool.Of(i % 3 != 0)), ("success-response", JsonBool.Of(i % 7 != 0)))).ToArray()))),
        // Longer than the writer's 64 KiB span hint: copied in pieces.
        JsonObject.Of(("out-data", JsonString.FromAscii(new byte[150_000].Select((_, i) => (byte)('a' + i % 26)).ToArray())), ("exited", JsonBool.False)),
    };

    [Theory]
    [MemberData(nameof(Values))]
    public void An_encoded_value_inside_a_reply_gives_the_same_bytes_as_the_tree(JsonValue value)
    {
        var encoded = JsonEncoded.Of(value);
        foreach (var id in new JsonValue?[] { null, new JsonInt(42), new JsonString("an \"id\" é") })
            foreach (var delimited in new[] { false, true })
                Assert.Equal(Replies.Line(Replies.Return(value, id), delimited), Replies.Line(Replies.Return(encoded, id), delimited));
    }

    [Theory]
    [MemberData(nameof(Values))]
    public void Measure_of_an_encoded_value_is_its_length_and_the_trees(JsonValue value)
    {
        var encoded = JsonEncoded.Of(value);
        Assert.Equal(encoded.Bytes.Length, JsonWriter.Measure(encoded));
        Assert.Equal(JsonWriter.Measure(value), JsonWriter.Measure(encoded));
    }

    [Fact]
    public void An_encoded_value_keeps_the_type_name_and_is_not_encoded_twice()
    {
        var tree = JsonObject.Of(("version", new JsonString("10.2.50")));
        var encoded = JsonEncoded.Of(tree);
        Assert.Equal("object", encoded.TypeName);
        Assert.Equal("array", JsonEncoded.Of(JsonArray.Empty).TypeName);
        Assert.Same(encoded, JsonEncoded.Of(encoded));
        Assert.Equal("{\"version\": \"10.2.50\"}", System.Text.Encoding.ASCII.GetString(encoded.Bytes));
    }

    [Fact]
    public void Encoded_values_are_equal_when_their_bytes_are()
    {
        var a = JsonEncoded.Of(JsonObject.Of(("x", new JsonInt(1)), ("y", JsonBool.True)));
        Assert.Equal(a, JsonEncoded.Of(JsonObject.Of(("x", new JsonInt(1)), ("y", JsonBool.True))));
        Assert.NotEqual(a, JsonEncoded.Of(JsonObject.Of(("x", new JsonInt(2)), ("y", JsonBool.True))));
    }
}
