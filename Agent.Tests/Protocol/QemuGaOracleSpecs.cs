using System.Diagnostics;
using System.Net.Sockets;
using Agent.Protocol.Envelope;
using Agent.Protocol.Json;
using Agent.Protocol.Schema;
using static Agent.Tests.Protocol.ProtocolTestBytes;

namespace Agent.Tests.Protocol;

/// <summary>
/// Differential tests: the same protocol byte streams go to Debian's qemu-ga (7.2) and through our
/// streamer + envelope + argument checker + writer; the reply lines must be byte-identical.
/// Only protocol garbage and the harmless guest-sync / guest-sync-delimited / guest-ping /
/// guest-info (argument errors only) / read-only argument errors are sent to the real agent.
/// The corpus avoids where Debian's qemu-ga 7.2 differs from HEAD (command set, disabled texts), so no normalisation is needed.
/// </summary>
public sealed class QemuGaOracleSpecs(QemuGaOracle oracle) : IClassFixture<QemuGaOracle>
{
    public static TheoryData<string, string> Corpus => new()
    {
        { "sync", "{\"execute\":\"guest-sync\",\"arguments\":{\"id\":1234567890123},\"id\":5}" },
        { "sync-int64-extremes", "{\"execute\":\"guest-sync\",\"arguments\":{\"id\":9223372036854775807}}{\"execute\":\"guest-sync\",\"arguments\":{\"id\":-9223372036854775808}}" },
        { "sync-delimited", "{\"execute\":\"guest-sync-delimited\",\"arguments\":{\"id\":42}}" },
        { "sync-delimited-bad-id", "{\"execute\":\"guest-sync-delimited\",\"arguments\":{\"id\":\"x\"}}" },
        { "sync-bad-ids", "{\"execute\":\"guest-sync\",\"arguments\":{\"id\":1.0}}{\"execute\":\"guest-sync\",\"arguments\":{\"id\":18446744073709551615}}{\"execute\":\"guest-sync\",\"arguments\":{}}{\"execute\":\"guest-sync\"}" },
        { "ping", "{\"execute\":\"guest-ping\"}\n{'execute':'guest-ping','id':'single'}" },
        { "ping-unexpected", "{\"execute\":\"guest-ping\",\"arguments\":{\"foo\":42}}{\"execute\":\"guest-ping\",\"arguments\":{\"foo\":1,\"bar\":2}}" },
        { "unexpected-ghash-order", "{\"execute\":\"guest-ping\",\"arguments\":{\"zz\":1,\"yy\":1,\"c\":2,\"d\":3,\"e\":4,\"f\":5,\"g\":6}}{\"execute\":\"guest-sync\",\"arguments\":{\"id\":1,\"b\":1,\"c\":2,\"d\":3,\"e\":4,\"f\":5,\"g\":6,\"h\":7,\"i\":8,\"j\":9,\"k\":1,\"l\":1,\"m\":1,\"n\":1}}" },
        { "non-ascii-keys", "{\"execute\":\"guest-ping\",\"arguments\":{\"\xc3\xa9\":1,\"a\":1,\"\xc3\xbc\":1,\"\xe2\x82\xac\":1}}{\"\xc3\xa9\":1,\"\xe2\x82\xac\":2,\"execute\":\"guest-ping\"}{\"execute\":\"guest-ping\",\"id\":{\"\xc3\xa9\":1,\"\\u0000\":2,\"\xf0\x9f\x98\x80\":3,\"z\":4}}" },
        { "info-with-args", "{\"execute\":\"guest-info\",\"arguments\":{\"x\":null},\"id\":[1,{\"b\":2,\"a\":1}]}" },
        { "read-only-arg-errors", "{\"execute\":\"guest-exec-status\",\"arguments\":{\"pid\":\"x\"}}{\"execute\":\"guest-file-read\",\"arguments\":{\"handle\":\"x\"}}{\"execute\":\"guest-file-seek\",\"arguments\":{\"handle\":99999,\"offset\":0,\"whence\":true}}{\"execute\":\"guest-file-seek\",\"arguments\":{\"handle\":99999,\"offset\":0,\"whence\":\"x\"}}{\"execute\":\"guest-file-read\",\"arguments\":{\"handle\":1,\"count\":null}}" },
        { "unknown-command", "{\"execute\":\"guest-nope\",\"id\":\"q\"}{\"execute\":\"\"}" },
        { "envelope-errors", "[]\"x\" 1 true null {}{\"id\":7}{\"execute\":1}{\"execute\":\"guest-ping\",\"arguments\":[]}{\"execute\":\"guest-ping\",\"exec-oob\":\"x\"}{\"foo\":1,\"bar\":2,\"execute\":3}{\"id\":{\"z\":null,\"a\":[]},\"arguments\":null}" },
        { "id-echo", "{\"execute\":\"guest-ping\",\"id\":{\"b\":1.5,\"a\":[0.15,-0.0,1e300,18446744073709551615,\"\\u00e9\\uD83D\\uDE00\\u0001/\"],\"c\":null}}" },
        { "ff", "\xff{\"execute\":\"guest-ping\"}" },
        { "ff-in-string", "{\"execute\":\"guest-pi\xffng\"}" },
        { "ff-after-keyword-and-number", "tru\xff" + "12\xff" + "-\xff" + "1.\xff" },
        { "control-in-string", "{\"execute\":\"guest-ping\x01\"}" },
        { "recovery-drops-printables", "\xff 12 tru ab\t{\"execute\":\"guest-ping\"}" },
        { "stray-texts", "01 A +1 \x00 \"ab\x00 \xc3 \xf8\x88\x80\x80\x80 \"\xe2\x82\x01" },
        { "stray-closers", "]}{}}" },
        { "parser-errors", "{\"a\":1,\"a\":2}{\"a\" 1}{1:2}{\"a\":1 \"b\":2}[1 2][1,]{\"a\":}{\"a\":1]foo [\"\\q\"][0e5]" },
        { "string-errors", "[\"\xc3(\"][\"\xef\xbf\xbf\"][\"\\u12\"][\"\\uD800\\u0041\"][\"\\uDC00\"][\"\\uFFFF\"][\"\\uDBFF\\uDFFF\"]" },
        { "long-keyword", "[" + new string('a', 2000) + "]" },
        { "duplicate-key-nested", "{\"execute\":\"guest-ping\",\"id\":{\"x\":{\"k\":1,\"k\":2}}}" },
        { "nesting-1024-ok", new string('[', 1024) + new string(']', 1024) },
        { "nesting-1025", new string('[', 1025) + "\n" },
        { "nesting-1025-object", new string('{', 1025) + new string('}', 1025) },
        { "nesting-1025-members", string.Concat(Enumerable.Repeat("{\"a\":", 1025)) + "1" + new string('}', 1025) },
        { "token-count-ok", "[" + string.Concat(Enumerable.Repeat("0,", (1 << 20) - 2)) + "[]]" },
        { "token-count-over", "[" + string.Concat(Enumerable.Repeat("0,", (1 << 20) - 1)) + "0]" },
    };

    [Theory]
    [MemberData(nameof(Corpus))]
    public async Task Replies_match_qemu_ga(string name, string stream)
    {
        var bytes = B(stream);
        var expected = await oracle.Replies(bytes);
        var actual = Simulate(bytes.Concat(QemuGaOracle.Sentinel).ToArray());
        Assert.True(expected.Count > 0, name);
        Assert.Equal(Render(expected), Render(actual));
    }

    private static string Render(List<byte[]> lines) =>
        string.Join("\n", lines.Select(l => System.Text.Encoding.Latin1.GetString(l)));

    /// <summary>Our pipeline for the commands the corpus uses.</summary>
    private static List<byte[]> Simulate(byte[] bytes)
    {
        var items = new List<StreamItem>();
        new JsonStreamer().Feed(bytes, items);
        var lines = new List<byte[]>();
        foreach (var item in items)
        {
            switch (item)
            {
                case StreamError e:
                    lines.Add(Replies.Line(Replies.Error(QmpError.Generic(e.Desc), null)));
                    break;
                case StreamValue v:
                    lines.Add(Dispatch(v.Value));
                    break;
            }
        }
        return lines;
    }

    private static byte[] Dispatch(JsonValue value)
    {
        if (RequestEnvelope.Validate(value) is EnvelopeRejected rejected)
            return Replies.Line(Replies.Error(rejected.Error, rejected.Id));
        var request = ((EnvelopeOk)RequestEnvelope.Validate(value)).Request;
        var command = QgaSchema.Find(request.Command);
        if (command is null)
            return Replies.Line(Replies.Error(QmpError.NotFound($"The command {request.Command} has not been found"), request.Id));
        if (ArgumentChecker.Check(command, request.Arguments) is { } error)
            return Replies.Line(Replies.Error(QmpError.Generic(error), request.Id));
        return request.Command switch
        {
            "guest-sync" => Replies.Line(Replies.Return(request.Arguments["id"]!, request.Id)),
            "guest-sync-delimited" => Replies.Line(Replies.Return(request.Arguments["id"]!, request.Id), delimited: true),
            "guest-ping" => Replies.Line(Replies.Return(JsonObject.Empty, request.Id)),
            _ => throw new InvalidOperationException($"the oracle corpus must not run {request.Command}"),
        };
    }
}

/// <summary>Debian's qemu-ga as the oracle.</summary>
public sealed class QemuGaOracle() : SocketAgentFixture(Binary)
{
    public const string Binary = "/usr/sbin/qemu-ga";
}

/// <summary>Our built Agent.Host, driven exactly like the oracle.</summary>
public sealed class OurAgentFixture() : SocketAgentFixture(Agent.Tests.EndToEnd.AgentProcess.OurAgent);

/// <summary>
/// Runs an agent binary on a unix socket in a temp folder (also its cwd and state dir).
/// Each case first resets the agent's parser (0xFF + a sync), then sends the case followed by a
/// sentinel (0xFF + another sync) and reads lines up to the sentinel's reply.
/// </summary>
public abstract class SocketAgentFixture(string binary) : IAsyncLifetime
{
    public static readonly byte[] Sentinel = B("\xff{\"execute\":\"guest-sync\",\"arguments\":{\"id\":918273645546372819}}");
    private static readonly byte[] SentinelReply = B("{\"return\": 918273645546372819}");

    private readonly string _dir = Directory.CreateTempSubdirectory("qga-oracle-").FullName;
    private Process? _agent;
    private Socket? _socket;
    private readonly List<byte> _pending = [];

    public async Task InitializeAsync()
    {
        if (!File.Exists(binary))
            return; // reported by Replies() so every oracle test fails with the reason
        var path = Path.Combine(_dir, "qga.sock");
        var start = new ProcessStartInfo(binary)
        {
            WorkingDirectory = _dir,
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "-m", "unix-listen", "-p", path, "-t", _dir }) start.ArgumentList.Add(arg);
        _agent = Process.Start(start)!;
        // Drain its console output so a chatty agent never blocks on a full pipe.
        _agent.ErrorDataReceived += (_, _) => { };
        _agent.OutputDataReceived += (_, _) => { };
        _agent.BeginErrorReadLine();
        _agent.BeginOutputReadLine();
        // The socket file appears at bind, before listen: retry refused connects, as test-qga does.
        for (var attempt = 0; ; attempt++)
        {
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(path));
                _socket = socket;
                return;
            }
            catch (SocketException) when (attempt < 600)
            {
                socket.Dispose();
                await Task.Delay(50);
            }
        }
    }

    public async Task<List<byte[]>> Replies(byte[] stream)
    {
        if (_socket is null)
            Assert.Fail($"{binary} is missing (Debian's qemu-ga comes from apt-get install qemu-guest-agent, which test.sh runs)");
        // Reset to a clean parser state, discarding whatever that produces.
        await Send(B("\xff\n{\"execute\":\"guest-sync\",\"arguments\":{\"id\":1}}"));
        await ReadUntil(B("{\"return\": 1}"));
        await Send(stream);
        await Send(Sentinel);
        var lines = await ReadUntil(SentinelReply);
        return lines;
    }

    private async Task Send(byte[] bytes)
    {
        for (int sent = 0; sent < bytes.Length;)
            sent += await _socket!.SendAsync(bytes.AsMemory(sent), SocketFlags.None);
    }

    private async Task<List<byte[]>> ReadUntil(byte[] last)
    {
        var lines = new List<byte[]>();
        var buffer = new byte[65536];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        while (true)
        {
            int nl;
            while ((nl = _pending.IndexOf((byte)'\n')) >= 0)
            {
                var line = _pending.Take(nl + 1).ToArray();
                _pending.RemoveRange(0, nl + 1);
                lines.Add(line);
                if (line.AsSpan(0, line.Length - 1).SequenceEqual(last)) return lines;
            }
            int n = await _socket!.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
            if (n == 0) throw new IOException($"{binary} closed the connection; got {lines.Count} lines");
            _pending.AddRange(buffer.AsSpan(0, n).ToArray());
        }
    }

    public Task DisposeAsync()
    {
        _socket?.Dispose();
        if (_agent is { HasExited: false })
        {
            _agent.Kill();
            _agent.WaitForExit(10_000);
        }
        _agent?.Dispose();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
        return Task.CompletedTask;
    }
}
