using Agent.Fuzz;
using Agent.Protocol.Envelope;
using Agent.Protocol.Json;

namespace Agent.Tests.Protocol;

/// <summary>
/// Every reply is RFC 8259 JSON. qemu-ga echoes an id that overflows a double as "inf"/"-inf" (its
/// writer prints %.17g); we echo the number as the host wrote it, and write null for a computed
/// non-finite value (README, "Valid JSON").
/// </summary>
public class ValidJsonSpecs
{
    private static string ReplyLine(string request)
    {
        var items = new List<StreamItem>();
        new JsonStreamer().Feed(System.Text.Encoding.UTF8.GetBytes(request), items);
        var line = ProtocolFuzz.ReplyFor(Assert.Single(items));
        return System.Text.Encoding.Latin1.GetString(line).TrimEnd('\n');
    }

    [Theory]
    [InlineData("1e309", "1e309")]
    [InlineData("-1e309", "-1e309")]
    [InlineData("1E400", "1E400")]
    [InlineData("-2.5e99999", "-2.5e99999")]
    public void An_id_that_overflows_a_double_is_echoed_as_written(string id, string echoed)
    {
        var line = ReplyLine($"{{\"execute\":\"guest-ping\",\"id\":{id}}}");
        Assert.Equal($"{{\"return\": {{}}, \"id\": {echoed}}}", line);
        Assert.Null(ReplyCheck.Problem(System.Text.Encoding.Latin1.GetBytes(line), out var idText));
        Assert.Equal(echoed, idText);
    }

    [Fact]
    public void An_integer_too_long_for_any_number_type_is_echoed_as_written()
    {
        var digits = "1" + new string('0', 400);
        Assert.Equal($"{{\"return\": {{}}, \"id\": -{digits}}}", ReplyLine($"{{\"execute\":\"guest-ping\",\"id\":-{digits}}}"));
    }

    [Fact]
    public void Overflowing_numbers_inside_a_structured_id_are_echoed_as_written_too() =>
        Assert.Equal("{\"return\": {}, \"id\": [1e309, {\"a\": -1e999}, 1.5]}",
            ReplyLine("{\"execute\":\"guest-ping\",\"id\":[1e309,{\"a\":-1e999},1.5]}"));

    [Fact]
    public void Finite_doubles_keep_qemus_spelling() =>
        Assert.Equal("{\"return\": {}, \"id\": 0.10000000000000001}", ReplyLine("{\"execute\":\"guest-ping\",\"id\":0.1}"));

    [Fact]
    public void The_parser_keeps_the_text_of_an_overflowing_number_only()
    {
        var items = new List<StreamItem>();
        new JsonStreamer().Feed("[1e309, 1e308]"u8, items);
        var array = Assert.IsType<JsonArray>(Assert.IsType<StreamValue>(Assert.Single(items)).Value);
        Assert.Equal("1e309", Assert.IsType<JsonDouble>(array.Items[0]).Literal);
        Assert.Null(Assert.IsType<JsonDouble>(array.Items[1]).Literal);
        Assert.Equal(new JsonDouble(double.PositiveInfinity), array.Items[0]);
    }

    [Theory]
    [InlineData(double.PositiveInfinity)]
    [InlineData(double.NegativeInfinity)]
    [InlineData(double.NaN)]
    public void A_computed_non_finite_value_is_written_as_null(double value) =>
        Assert.Equal("{\"return\": null}", JsonWriter.ToJson(Replies.Return(new JsonDouble(value), null)));

    [Fact]
    public void Random_and_mutated_streams_get_only_valid_json_replies()
    {
        var (inputs, findings) = ProtocolFuzz.Run(20_000, seed: 20261205, Corpus.Seeds(Corpus.Find()));
        Assert.Equal(20_000, inputs);
        Assert.True(findings.Count == 0, string.Join("\n", findings.Select(f => $"{f.Problem}: {f.Reply}")));
    }

    [Fact]
    public void The_reply_checker_rejects_what_qemu_ga_writes()
    {
        Assert.NotNull(ReplyCheck.Problem("{\"return\": {}, \"id\": inf}"u8.ToArray(), out _));
        Assert.NotNull(ReplyCheck.Problem("{\"return\": {}, \"id\": -nan}"u8.ToArray(), out _));
        Assert.NotNull(ReplyCheck.Problem("{\"return\": \"\\uD800\"}"u8.ToArray(), out _));
        byte[] delimited = [0xFF, .. "{\"return\": 1}"u8];
        Assert.Null(ReplyCheck.Problem(delimited, out _));
    }
}
