using System.Net.Sockets;
using System.Text;

namespace Agent.Tests.EndToEnd;

/// <summary>Bad hosts: vanishing, not reading, flooding, and SIGTERM in the middle of traffic.</summary>
public sealed class RobustnessSpecs
{
    private static readonly byte[] Ping = Encoding.ASCII.GetBytes("{\"execute\":\"guest-ping\"}\n");

    [Fact]
    public async Task SIGTERM_in_the_middle_of_traffic_exits_0_every_time()
    {
        for (var round = 0; round < 5; round++)
        {
            await using var agent = await AgentProcess.StartOursAsync();
            using var flood = new CancellationTokenSource();
            var sender = Task.Run(async () =>
            {
                try
                {
                    while (!flood.IsCancellationRequested) await agent.SendAsync(Ping);
                }
                catch (SocketException) { }
                catch (ObjectDisposedException) { }
            });
            Assert.Equal("{\"return\": {}}", await agent.ReadLineAsync());
            await Task.Delay(50 * round);
            Assert.Equal(0, await agent.TerminateAsync());
            flood.Cancel();
            await sender;
        }
    }

    [Fact]
    public async Task A_client_that_shuts_down_its_write_side_still_gets_every_reply_then_the_next_is_served()
    {
        await using var agent = await AgentProcess.StartOursAsync();
        await agent.SendAsync("{\"execute\":\"guest-ping\"}\n{\"execute\":\"guest-sync\",\"arguments\":{\"id\":12}}\n");
        agent.ShutdownWrite();
        Assert.Equal("{\"return\": {}}", await agent.ReadLineAsync());
        Assert.Equal("{\"return\": 12}", await agent.ReadLineAsync());
        await Assert.ThrowsAsync<EndOfStreamException>(() => agent.ReadLineAsync());
        agent.CloseConnection();
        await agent.ConnectAsync();
        Assert.Equal("{\"return\": 13}", await agent.RoundTripAsync("{\"execute\":\"guest-sync\",\"arguments\":{\"id\":13}}"));
        Assert.Equal(0, await agent.TerminateAsync());
    }

    [Fact]
    public async Task A_host_that_vanishes_with_replies_unread_does_not_disturb_the_next_one()
    {
        await using var agent = await AgentProcess.StartOursAsync();
        var burst = Enumerable.Repeat(Ping, 20_000).SelectMany(b => b).ToArray();
        await agent.SendAsync(burst);
        agent.CloseConnection();
        await agent.ConnectAsync();
        // Replies meant for the first client must not reach this one: the first line is ours.
        Assert.Equal("{\"return\": 7}", await agent.RoundTripAsync("{\"execute\":\"guest-sync\",\"arguments\":{\"id\":7}}"));
        Assert.Equal(0, await agent.TerminateAsync());
    }

    [Fact]
    public async Task A_host_that_stops_reading_is_cut_off_and_memory_stays_bounded()
    {
        var conf = Path.Combine(Path.GetTempPath(), $"agent-{Guid.NewGuid():N}.conf");
        File.WriteAllText(conf, "agent.channel { write-timeout = 2s, request-budget = 1MiB, reply-budget = 1MiB }\n");
        try
        {
            await using var agent = await AgentProcess.StartOursAsync("-c", conf);
            // Write far more than the socket buffers hold, never reading a reply. An agent that kept
            // reading would take it all (hundreds of MB in this window); ours stops reading.
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(8));
            var burst = Enumerable.Repeat(Ping, 10_000).SelectMany(b => b).ToArray();
            long sent = 0;
            try
            {
                while (!cts.IsCancellationRequested)
                {
                    await agent.SendAsync(burst).WaitAsync(cts.Token);
                    sent += burst.Length;
                }
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or TimeoutException) { }
            // The intake bound is the functional check; RSS while a host stalls is measured by
            // bench/memory.py, not asserted here.
            Assert.True(sent < 32L << 20, $"the agent accepted {sent >> 20} MiB from a host that never reads");
            // The stalled client was dropped mid-line; a new host resynchronises and is served.
            agent.CloseConnection();
            await agent.ConnectAsync();
            Assert.Equal(9, await agent.ResyncAsync(9));
            Assert.Equal("{\"return\": {}}", await agent.RoundTripAsync("{\"execute\":\"guest-ping\"}"));
            Assert.Equal(0, await agent.TerminateAsync());
        }
        finally
        {
            File.Delete(conf);
        }
    }

    [Fact]
    public async Task Random_garbage_never_stops_the_agent()
    {
        await using var agent = await AgentProcess.StartOursAsync();
        var rng = new Random(1234);
        for (var i = 0; i < 50; i++)
        {
            var junk = new byte[rng.Next(1, 4096)];
            rng.NextBytes(junk);
            await agent.SendAsync(junk);
        }
        // Whatever state the junk left, 0xFF + a sync resynchronises (the documented handshake).
        await agent.SendAsync([0xFF]);
        await agent.SendAsync("{\"execute\":\"guest-sync-delimited\",\"arguments\":{\"id\":31337}}\n");
        while (true)
        {
            var line = await agent.ReadLineAsync();
            Assert.True(line.StartsWith('\u00FF') || Json.IsError(line), $"unexpected line: {line}");
            if (line.StartsWith('\u00FF'))
            {
                Assert.Equal("\u00FF{\"return\": 31337}", line);
                break;
            }
        }
        Assert.Equal(0, await agent.TerminateAsync());
    }
}
