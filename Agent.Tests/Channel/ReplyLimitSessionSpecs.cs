using System.Text;
using System.Text.Json;
using Agent.Actors;
using Agent.Actors.Commands;
using Agent.Actors.Settings;
using Akka.Configuration;
using Xunit.Abstractions;

namespace Agent.Tests.Channel;

/// <summary>
/// agent.channel.max-reply-bytes through the whole actor tree: every line the host reads, with its id,
/// stays within the limit, and large output still arrives whole.
/// </summary>
public sealed class ReplyLimitSessionSpecs(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit(output: output)
{
    private const int Limit = 32 * 1024;
    private readonly string _dir = Directory.CreateTempSubdirectory("reply-limit-").FullName;

    private InMemoryTransport StartAgent()
    {
        var transport = new InMemoryTransport();
        var settings = AgentSettings.Create(ConfigurationFactory.ParseString($"""
            agent.state-dir = "{_dir}"
            agent.channel.max-reply-bytes = {Limit}
            """));
        Sys.ActorOf(AgentSupervisor.Props(settings, () => transport, CommandCatalog.Families), "agent");
        return transport;
    }

    /// <summary>Sends one request and returns its "return" member; the line must fit in the limit.</summary>
    private static async Task<JsonElement> Call(InMemoryTransport host, string command, object arguments, string id)
    {
        host.Send(JsonSerializer.Serialize(new Dictionary<string, object> { ["execute"] = command, ["arguments"] = arguments, ["id"] = id }));
        var line = await host.ReadLineAsync(TimeSpan.FromSeconds(30));
        Assert.True(line.Length + 1 <= Limit, $"{command}: a {line.Length + 1}-byte line");
        var reply = EndToEnd.Json.Parse(line);
        Assert.Equal(id, reply.GetProperty("id").GetString());
        Assert.True(reply.TryGetProperty("return", out var value), line);
        return value;
    }

    [Fact]
    public async Task Exec_output_beyond_the_limit_comes_whole_through_status_and_read_output()
    {
        var host = StartAgent();
        var id = new string('i', 500); // the id takes room from the data, not from the limit
        var pid = (await Call(host, "guest-exec", new Dictionary<string, object>
        {
            ["path"] = "sh", ["arg"] = new[] { "-c", "seq 1 20000; seq 5 9000 >&2" }, ["capture-output"] = true,
        }, id)).GetProperty("pid").GetInt64();

        JsonElement status;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!(status = await Call(host, "guest-exec-status", new { pid }, id)).GetProperty("exited").GetBoolean())
        {
            Assert.True(DateTime.UtcNow < deadline);
            await Task.Delay(20);
        }
        Assert.True(status.GetProperty("out-truncated").GetBoolean());
        Assert.True(status.GetProperty("err-truncated").GetBoolean());

        foreach (var (stream, expected) in new[]
                 {
                     ("out", string.Concat(Enumerable.Range(1, 20000).Select(i => i + "\n"))),
                     ("err", string.Concat(Enumerable.Range(5, 8996).Select(i => i + "\n"))),
                 })
        {
            var data = new List<byte>(Convert.FromBase64String(status.GetProperty($"{stream}-data").GetString()!));
            Assert.Equal(expected.Length - data.Count, status.GetProperty($"__org.actoragent_{stream}-remaining").GetInt64());
            while (true)
            {
                var part = await Call(host, "__org.actoragent_guest-exec-read-output",
                    new { pid, stream, offset = data.Count, count = 7000 }, id);
                data.AddRange(Convert.FromBase64String(part.GetProperty("buf-b64").GetString()!));
                if (part.GetProperty("eof").GetBoolean()) break;
            }
            Assert.Equal(expected, Encoding.ASCII.GetString(data.ToArray()));
        }

        host.Send($"{{\"execute\":\"guest-exec-status\",\"arguments\":{{\"pid\":{pid}}}}}");
        Assert.Equal($"PID {pid} does not exist", EndToEnd.Json.ErrorDesc(await host.ReadLineAsync()));
    }

    [Fact]
    public async Task A_file_read_of_qemus_largest_count_returns_a_shorter_read_within_the_limit()
    {
        var content = new byte[100_000];
        new Random(11).NextBytes(content);
        var path = Path.Combine(_dir, "large");
        await File.WriteAllBytesAsync(path, content);
        var host = StartAgent();
        var handle = (await Call(host, "guest-file-open", new { path }, "open")).GetInt64();

        var read = new List<byte>();
        while (true)
        {
            var part = await Call(host, "guest-file-read", new { handle, count = 48 * 1024 * 1024 }, "read");
            var count = part.GetProperty("count").GetInt32();
            Assert.True(count < 48 * 1024 * 1024);
            read.AddRange(Convert.FromBase64String(part.GetProperty("buf-b64").GetString()!));
            if (count == 0) break;
        }
        Assert.Equal(content, read);
        await Call(host, "guest-file-close", new { handle }, "close");
    }

    [Fact]
    public async Task Read_output_is_in_the_schema_with_the_downstream_prefix_and_checks_its_stream()
    {
        var host = StartAgent();
        host.Send("{\"execute\":\"guest-info\"}");
        var names = EndToEnd.Json.Parse(await host.ReadLineAsync()).GetProperty("return").GetProperty("supported_commands")
            .EnumerateArray().Select(c => c.GetProperty("name").GetString()).ToList();
        Assert.Contains("__org.actoragent_guest-exec-read-output", names);

        host.Send("{\"execute\":\"__org.actoragent_guest-exec-read-output\",\"arguments\":{\"pid\":1,\"stream\":\"both\",\"offset\":0}}");
        Assert.Equal("Parameter 'stream' does not accept value 'both'", EndToEnd.Json.ErrorDesc(await host.ReadLineAsync()));
        host.Send("{\"execute\":\"__org.actoragent_guest-exec-read-output\",\"arguments\":{\"pid\":1,\"stream\":\"out\"}}");
        Assert.Equal("Parameter 'offset' is missing", EndToEnd.Json.ErrorDesc(await host.ReadLineAsync()));
    }

    [Fact]
    public async Task Any_other_line_over_the_limit_becomes_an_error_naming_the_setting()
    {
        var host = StartAgent();
        host.Send($"{{\"execute\":\"guest-{new string('x', Limit)}\",\"id\":7}}");
        Assert.Equal($"{{\"id\": 7, \"error\": {{\"class\": \"GenericError\", \"desc\": \"the reply would exceed agent.channel.max-reply-bytes ({Limit})\"}}}}",
            await host.ReadLineAsync());
        host.Send($"{{\"execute\":\"guest-ping\",\"id\":\"{new string('i', Limit)}\"}}");
        Assert.Equal($"{{\"error\": {{\"class\": \"GenericError\", \"desc\": \"the reply would exceed agent.channel.max-reply-bytes ({Limit})\"}}}}",
            await host.ReadLineAsync());
        host.Send("{\"execute\":\"guest-ping\",\"id\":8}");
        Assert.Equal("{\"id\":8,\"return\":{}}", EndToEnd.Json.Canonical(await host.ReadLineAsync()));
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            try { Directory.Delete(_dir, recursive: true); }
            catch (IOException) { }
        }
    }
}
