using Agent.Protocol.Envelope;
using Agent.Protocol.Json;
using static Agent.Tests.Protocol.ProtocolTestBytes;

namespace Agent.Tests.Protocol;

public class EnvelopeSpecs
{
    private static JsonValue Parse(string json)
    {
        var items = new List<StreamItem>();
        new JsonStreamer().Feed(B(json + "\n"), items);
        return ((StreamValue)items.Single()).Value;
    }

    private static string Reply(string json) => Validate(Parse(json));

    private static string Validate(JsonValue value) => RequestEnvelope.Validate(value) switch
    {
        EnvelopeRejected r => JsonWriter.ToJson(Replies.Error(r.Error, r.Id)),
        EnvelopeOk ok => $"ok {ok.Request.Command} {JsonWriter.ToJson(ok.Request.Arguments)} {(ok.Request.Id is null ? "-" : JsonWriter.ToJson(ok.Request.Id))}",
        _ => throw new InvalidOperationException(),
    };

    private static string Err(string desc, string? id = null) =>
        id is null
            ? $"{{\"error\": {{\"class\": \"GenericError\", \"desc\": \"{desc}\"}}}}"
            : $"{{\"id\": {id}, \"error\": {{\"class\": \"GenericError\", \"desc\": \"{desc}\"}}}}";

    [Theory]
    [InlineData("[]")]
    [InlineData("\"x\"")]
    [InlineData("1")]
    [InlineData("true")]
    [InlineData("null")]
    public void Non_objects_are_rejected_without_id(string json) =>
        Assert.Equal(Err("QMP input must be a JSON object"), Reply(json));

    [Theory]
    [InlineData("{\"execute\":1}", "QMP input member 'execute' must be a string")]
    [InlineData("{\"execute\":\"guest-ping\",\"arguments\":[]}", "QMP input member 'arguments' must be an object")]
    [InlineData("{\"execute\":\"guest-ping\",\"arguments\":null}", "QMP input member 'arguments' must be an object")]
    [InlineData("{\"execute\":\"guest-ping\",\"exec-oob\":\"x\"}", "QMP input member 'exec-oob' is unexpected")]
    [InlineData("{\"execute\":\"guest-ping\",\"foo\":1}", "QMP input member 'foo' is unexpected")]
    [InlineData("{}", "QMP input lacks member 'execute'")]
    [InlineData("{\"arguments\":{}}", "QMP input lacks member 'execute'")]
    // several bad members: the first in QDict order wins ([live] 'bar' before 'execute' and 'foo')
    [InlineData("{\"foo\":1,\"bar\":2,\"execute\":3}", "QMP input member 'bar' is unexpected")]
    [InlineData("{\"arguments\":1,\"execute\":2}", "QMP input member 'execute' must be a string")]
    public void Bad_envelopes_get_qemus_text(string json, string desc) =>
        Assert.Equal(Err(desc), Reply(json));

    [Fact]
    public void The_id_is_echoed_verbatim_on_errors()
    {
        Assert.Equal(Err("QMP input lacks member 'execute'", "7"), Reply("{\"id\":7}"));
        Assert.Equal(Err("QMP input lacks member 'execute'", "null"), Reply("{\"id\":null}"));
        Assert.Equal(Err("QMP input member 'execute' must be a string", "{\"a\": [1], \"b\": \"x\"}"),
            Reply("{\"execute\":[],\"id\":{\"b\":\"x\",\"a\":[1]}}"));
    }

    [Fact]
    public void Valid_requests_carry_command_arguments_and_id()
    {
        Assert.Equal("ok guest-ping {} -", Reply("{\"execute\":\"guest-ping\"}"));
        Assert.Equal("ok guest-sync {\"id\": 5} \"abc\"", Reply("{'execute':'guest-sync','arguments':{'id':5},'id':'abc'}"));
        Assert.Equal("ok guest-x {} 18446744073709551615", Reply("{\"id\":18446744073709551615,\"execute\":\"guest-x\"}"));
    }
}
