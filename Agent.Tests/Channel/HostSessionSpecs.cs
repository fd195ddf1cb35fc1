using Agent.Actors;
using Agent.Actors.Commands;
using Agent.Actors.Settings;
using Akka.Actor;
using Akka.Configuration;
using Xunit.Abstractions;

namespace Agent.Tests.Channel;

/// <summary>TestKit specs that play the host over an in-memory transport through the whole actor tree.</summary>
public sealed class HostSessionSpecs(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit(output: output)
{
    /// <summary>qga.state goes here: the files family creates it at start, and /var/run is the real machine's.</summary>
    private readonly string _stateDir = Directory.CreateTempSubdirectory("host-session-").FullName;

    private InMemoryTransport StartAgent(string hocon = "")
    {
        var transport = new InMemoryTransport();
        var settings = AgentSettings.Create(ConfigurationFactory.ParseString(hocon)
            .WithFallback(ConfigurationFactory.ParseString($"agent.state-dir = \"{_stateDir}\"")));
        Sys.ActorOf(AgentSupervisor.Props(settings, () => transport, CommandCatalog.Families), "agent");
        return transport;
    }

    [Fact]
    public async Task Ping_is_answered_with_an_empty_return()
    {
        var host = StartAgent();
        host.Send("{\"execute\":\"guest-ping\"}\n");
        Assert.Equal("{\"return\": {}}", await host.ReadLineAsync());
    }

    [Fact]
    public async Task Sync_echoes_int64_ids_exactly()
    {
        var host = StartAgent();
        host.Send("{\"execute\":\"guest-sync\",\"arguments\":{\"id\":9223372036854775807}}");
        Assert.Equal("{\"return\": 9223372036854775807}", await host.ReadLineAsync());
    }

    [Fact]
    public async Task Sync_delimited_after_0xFF_puts_0xFF_before_its_reply_only()
    {
        var host = StartAgent();
        host.Send([0xFF]);
        host.Send("{\"execute\":\"guest-sync-delimited\",\"arguments\":{\"id\":4711}}");
        host.Send("{\"execute\":\"guest-ping\"}");
        Assert.Equal("{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, stray '\\uFFFD'\"}}", await host.ReadLineAsync());
        Assert.Equal("\u00FF{\"return\": 4711}", await host.ReadLineAsync());
        Assert.Equal("{\"return\": {}}", await host.ReadLineAsync());
    }

    [Fact]
    public async Task Pipelined_requests_are_answered_in_order()
    {
        var host = StartAgent();
        var batch = string.Concat(Enumerable.Range(1, 50).Select(i =>
            i % 2 == 0
                ? $"{{\"execute\":\"guest-sync\",\"arguments\":{{\"id\":{i}}}}}"
                : $"{{\"execute\":\"guest-ping\",\"id\":{i}}}"));
        host.Send(batch);
        for (var i = 1; i <= 50; i++)
        {
            var expected = i % 2 == 0 ? $"{{\"return\": {i}}}" : $"{{\"return\": {{}}, \"id\": {i}}}";
            Assert.Equal(expected, Normalize(await host.ReadLineAsync()));
        }
    }

    [Fact]
    public async Task A_request_split_into_single_bytes_is_answered_once()
    {
        var host = StartAgent();
        foreach (var b in "{'execute':'guest-sync','arguments':{'id':77}}"u8.ToArray()) host.Send([b]);
        Assert.Equal("{\"return\": 77}", await host.ReadLineAsync());
        Assert.True(await host.StaysSilentAsync(TimeSpan.FromMilliseconds(300)));
    }

    [Fact]
    public async Task Garbage_then_a_request_recovers()
    {
        var host = StartAgent();
        host.Send("{\"execute\":\"guest-ping\u0001\"}");
        Assert.Equal("{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, stray '\\\"guest-ping\\u0001'\"}}", await host.ReadLineAsync());
        Assert.Equal("{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, expecting value\"}}", await host.ReadLineAsync());
        host.Send("{\"execute\":\"guest-ping\",\"id\":\"after\"}");
        Assert.Equal("{\"return\": {}, \"id\": \"after\"}", Normalize(await host.ReadLineAsync()));
    }

    [Fact]
    public async Task Blocked_commands_are_disabled_with_the_HEAD_text()
    {
        var host = StartAgent("agent.rpc.block = [guest-ping]");
        host.Send("{\"execute\":\"guest-ping\",\"id\":1}");
        Assert.Equal("{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"Command guest-ping has been disabled: the command is not allowed\"}, \"id\": 1}",
            Normalize(await host.ReadLineAsync()));
        host.Send("{\"execute\":\"guest-sync\",\"arguments\":{\"id\":2}}");
        Assert.Equal("{\"return\": 2}", await host.ReadLineAsync());
    }

    [Fact]
    public async Task Allow_list_disables_everything_else()
    {
        var host = StartAgent("agent.rpc.allow = [guest-ping]");
        host.Send("{\"execute\":\"guest-ping\"}{\"execute\":\"guest-info\"}");
        Assert.Equal("{\"return\": {}}", await host.ReadLineAsync());
        Assert.Contains("Command guest-info has been disabled: the command is not allowed", await host.ReadLineAsync());
    }

    [Fact]
    public async Task Guest_info_lists_commands_in_reverse_schema_order_with_enabled_flags()
    {
        var host = StartAgent("agent.rpc.block = [guest-ping]");
        host.Send("{\"execute\":\"guest-info\"}");
        var doc = System.Text.Json.JsonDocument.Parse(await host.ReadLineAsync());
        var ret = doc.RootElement.GetProperty("return");
        Assert.Equal("10.2.50", ret.GetProperty("version").GetString());
        var names = ret.GetProperty("supported_commands").EnumerateArray().Select(c => c.GetProperty("name").GetString()!).ToList();
        var schemaOrder = Agent.Protocol.Schema.QgaSchema.Standard.With(Agent.Protocol.Schema.ExtensionSchema.Commands).Commands.Select(c => c.Name).Where(names.Contains).Reverse().ToList();
        Assert.Equal(schemaOrder, names);
        Assert.Equal(["guest-sync", "guest-sync-delimited"], names.TakeLast(2));
        var ping = ret.GetProperty("supported_commands").EnumerateArray().Single(c => c.GetProperty("name").GetString() == "guest-ping");
        Assert.False(ping.GetProperty("enabled").GetBoolean());
        Assert.True(ping.GetProperty("success-response").GetBoolean());
    }

    [Theory]
    [InlineData("1")]
    [InlineData("\"x\"")]
    [InlineData("null")]
    [InlineData("true")]
    [InlineData("[1, 2]")]
    [InlineData("{\"a\": {\"b\": [1, null]}}")]
    [InlineData("-5")]
    [InlineData("18446744073709551615")]
    public async Task The_id_is_echoed_verbatim_on_success_and_error(string id)
    {
        var host = StartAgent();
        host.Send($"{{\"execute\":\"guest-ping\",\"id\":{id}}}");
        Assert.Equal($"{{\"return\": {{}}, \"id\": {id}}}", Normalize(await host.ReadLineAsync()));
        host.Send($"{{\"execute\":\"guest-nope\",\"id\":{id}}}");
        Assert.Equal($"{{\"error\": {{\"class\": \"CommandNotFound\", \"desc\": \"The command guest-nope has not been found\"}}, \"id\": {id}}}",
            Normalize(await host.ReadLineAsync()));
    }

    [Fact]
    public async Task Invalid_arguments_and_exec_oob_get_exact_errors()
    {
        var host = StartAgent();
        host.Send("{\"execute\":\"guest-ping\",\"arguments\":{\"foo\":42}}");
        Assert.Equal("{\"error\": {\"class\": \"GenericError\", \"desc\": \"Parameter 'foo' is unexpected\"}}", await host.ReadLineAsync());
        host.Send("{\"exec-oob\":\"guest-ping\"}");
        Assert.Equal("{\"error\": {\"class\": \"GenericError\", \"desc\": \"QMP input member 'exec-oob' is unexpected\"}}", await host.ReadLineAsync());
        host.Send("{\"execute\":\"guest-sync\",\"arguments\":{\"id\":1.5}}");
        Assert.Equal("{\"error\": {\"class\": \"GenericError\", \"desc\": \"Invalid parameter type for 'id', expected: integer\"}}", await host.ReadLineAsync());
    }

    [Fact]
    public async Task Parser_state_survives_a_reconnect_and_old_replies_are_not_sent_to_the_new_client()
    {
        var host = StartAgent();
        host.Send("{\"execute\":\"guest-ping\"");
        host.Reconnect();
        // The two pings nest inside the old client's open object, as with qemu-ga: no answer at all.
        host.Send("{\"execute\":\"guest-ping\"}{\"execute\":\"guest-ping\"}");
        Assert.True(await host.StaysSilentAsync(TimeSpan.FromMilliseconds(300)));
        host.Send([0xFF]);
        Assert.Contains("JSON parse error", await host.ReadLineAsync());
        host.Send("{\"execute\":\"guest-ping\"}");
        Assert.Equal("{\"return\": {}}", await host.ReadLineAsync());
    }

    /// <summary>Member order is qemu's hash order on the wire; these tests compare return/error first, then id.</summary>
    private static string Normalize(string line)
    {
        using var doc = System.Text.Json.JsonDocument.Parse(line);
        var members = doc.RootElement.EnumerateObject().OrderBy(p => p.Name == "id" ? 1 : 0)
            .Select(p => $"\"{p.Name}\": {Raw(p.Value)}");
        return "{" + string.Join(", ", members) + "}";
    }

    private static string Raw(System.Text.Json.JsonElement e) => e.ValueKind switch
    {
        System.Text.Json.JsonValueKind.Object => "{" + string.Join(", ", e.EnumerateObject().Select(p => $"\"{p.Name}\": {Raw(p.Value)}")) + "}",
        System.Text.Json.JsonValueKind.Array => "[" + string.Join(", ", e.EnumerateArray().Select(Raw)) + "]",
        _ => e.GetRawText(),
    };

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing) Directory.Delete(_stateDir, recursive: true);
    }
}
