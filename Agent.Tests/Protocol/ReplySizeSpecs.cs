using Agent.Protocol.Encoding;
using Agent.Protocol.Envelope;
using Agent.Protocol.Json;

namespace Agent.Tests.Protocol;

/// <summary>Measuring a reply before building it: the sizes the families cut large replies to.</summary>
public class ReplySizeSpecs
{
    public static TheoryData<JsonValue> Values => new()
    {
        JsonNull.Instance,
        new JsonInt(long.MinValue),
        new JsonUInt(ulong.MaxValue),
        new JsonDouble(0.15),
        new JsonString("plain"),
        new JsonString("quote \" backslash \\ tab \t bell \u0007 é 😀 \uD800 /"),
        new JsonString(new string('A', 100_000) + "\u00FF"),
        new JsonArray([new JsonInt(1), new JsonString("x"), JsonObject.Empty]),
        JsonObject.Of(("exited", JsonBool.True), ("out-data", new JsonString(new string('/', 5000))), ("nested", JsonObject.Of(("a", JsonBool.False)))),
    };

    [Theory]
    [MemberData(nameof(Values))]
    public void Measure_counts_exactly_the_bytes_the_writer_writes(JsonValue value) =>
        Assert.Equal(System.Text.Encoding.ASCII.GetByteCount(JsonWriter.ToJson(value)), JsonWriter.Measure(value));

    public static TheoryData<JsonValue?, bool> Ids => new()
    {
        { null, false },
        { new JsonInt(42), false },
        { new JsonString("a \"quoted\" id \u00E9"), false },
        { JsonObject.Of(("k", new JsonArray([new JsonDouble(1e300)]))), false },
        { new JsonInt(4711), true },
    };

    [Theory]
    [MemberData(nameof(Ids))]
    public void A_return_value_of_exactly_the_budget_makes_a_line_of_exactly_the_limit(JsonValue? id, bool delimited)
    {
        const long limit = 4096;
        var budget = Replies.ReturnBudget(limit, id, delimited);
        var value = new JsonString(new string('x', (int)budget - 2)); // the quotes are part of the value
        Assert.Equal(budget, JsonWriter.Measure(value));
        Assert.Equal(limit, Replies.Line(Replies.Return(value, id), delimited).Length);
    }

    [Fact]
    public void An_id_longer_than_the_limit_leaves_a_negative_budget() =>
        Assert.True(Replies.ReturnBudget(100, new JsonString(new string('i', 200))) < 0);

    [Theory]
    [InlineData(0, 0)]
    [InlineData(1, 4)]
    [InlineData(2, 4)]
    [InlineData(3, 4)]
    [InlineData(4, 8)]
    [InlineData(48L * 1024 * 1024, 64L * 1024 * 1024)]
    public void Base64_text_length_is_four_per_started_three_bytes(long bytes, long chars)
    {
        Assert.Equal(chars, Base64Text.Length(bytes));
        if (bytes <= 16) Assert.Equal(chars, Convert.ToBase64String(new byte[bytes]).Length);
    }

    [Theory]
    [InlineData(-5, 0)]
    [InlineData(0, 0)]
    [InlineData(3, 0)]
    [InlineData(4, 3)]
    [InlineData(7, 3)]
    [InlineData(8, 6)]
    public void The_bytes_that_fit_in_base64_text_never_overflow_it(long chars, long bytes)
    {
        Assert.Equal(bytes, Base64Text.MaxBytesIn(chars));
        Assert.True(Base64Text.Length(Base64Text.MaxBytesIn(chars)) <= Math.Max(0, chars));
    }

    [Fact]
    public void A_line_over_the_limit_becomes_an_error_that_names_the_setting_with_the_id_while_it_fits()
    {
        var small = Replies.Return(JsonObject.Empty, new JsonInt(5));
        Assert.Equal(Replies.Line(small), Replies.LineWithin(small, 100));

        var longName = Replies.Error(QmpError.NotFound($"The command {new string('x', 500)} has not been found"), new JsonInt(5));
        Assert.Equal("{\"id\": 5, \"error\": {\"class\": \"GenericError\", \"desc\": \"the reply would exceed agent.channel.max-reply-bytes (200)\"}}\n",
            System.Text.Encoding.ASCII.GetString(Replies.LineWithin(longName, 200)));

        var longId = Replies.Return(JsonObject.Empty, new JsonString(new string('i', 500)));
        var line = Replies.LineWithin(longId, 200, delimited: true);
        Assert.Equal("\u00FF{\"error\": {\"class\": \"GenericError\", \"desc\": \"the reply would exceed agent.channel.max-reply-bytes (200)\"}}\n",
            System.Text.Encoding.Latin1.GetString(line));
        Assert.True(line.Length <= 200);
    }
}
