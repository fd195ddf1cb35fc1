using System.Net.Sockets;
using System.Text;
using Agent.Actors;
using Agent.Actors.Channel;
using Agent.Actors.Commands;
using Agent.Actors.Settings;
using Akka.Actor;
using Akka.Configuration;
using Xunit.Abstractions;

namespace Agent.Tests.Channel;

/// <summary>
/// The agent as configured by reference.conf: the request path's actors on the event-loop dispatcher,
/// the unix-listen transport served by the same loop, a real socket as the host.
/// </summary>
public sealed class EventLoopSpecs(ITestOutputHelper output)
    : Akka.TestKit.Xunit2.TestKit(AgentSettings.DefaultConfig(), output: output)
{
    private readonly string _dir = Directory.CreateTempSubdirectory("event-loop-").FullName;

    private sealed class WhereAmI : UntypedActor
    {
        protected override void OnReceive(object message) =>
            Sender.Tell($"{EventLoop.Current is not null} {Thread.CurrentThread.Name}");
    }

    private string StartAgent()
    {
        var sock = Path.Combine(_dir, "qga.sock");
        var settings = AgentSettings.Create(ConfigurationFactory.ParseString(
            $"agent {{ state-dir = \"{_dir}\", channel {{ method = unix-listen, path = \"{sock}\" }} }}"));
        Sys.ActorOf(AgentSupervisor.Props(settings, Transports.Factory(settings.Channel), CommandCatalog.Families), "agent");
        return sock;
    }

    private static async Task<Socket> ConnectAsync(string sock)
    {
        for (var attempt = 0; ; attempt++)
        {
            var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                await s.ConnectAsync(new UnixDomainSocketEndPoint(sock));
                return s;
            }
            catch (Exception) when (attempt < 200)
            {
                s.Dispose();
                await Task.Delay(25);
            }
        }
    }

    private static async Task<List<string>> ReadLinesAsync(Socket s, int count)
    {
        var lines = new List<string>();
        var pending = new StringBuilder();
        var buffer = new byte[65536];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (lines.Count < count)
        {
            var n = await s.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
            Assert.NotEqual(0, n);
            pending.Append(Encoding.UTF8.GetString(buffer, 0, n));
            var text = pending.ToString();
            var end = text.LastIndexOf('\n');
            if (end < 0) continue;
            lines.AddRange(text[..end].Split('\n'));
            pending.Clear().Append(text[(end + 1)..]);
        }
        return lines;
    }

    [Fact]
    public async Task Actors_deployed_on_the_event_loop_dispatcher_run_on_its_thread()
    {
        var actor = Sys.ActorOf(Props.Create(() => new WhereAmI()).WithDispatcher("agent.channel.event-loop"));
        Assert.Equal("True agent.channel.event-loop", await actor.Ask<string>("where", TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task Requests_over_the_socket_are_answered_by_the_loop_in_order()
    {
        using var host = await ConnectAsync(StartAgent());
        var batch = string.Concat(Enumerable.Range(1, 2000).Select(i =>
            i % 3 == 0 ? $"{{\"execute\":\"guest-sync\",\"arguments\":{{\"id\":{i}}}}}" : "{\"execute\":\"guest-ping\"}"));
        await host.SendAsync(Encoding.UTF8.GetBytes(batch), SocketFlags.None);
        var lines = await ReadLinesAsync(host, 2000);
        for (var i = 1; i <= 2000; i++)
            Assert.Equal(i % 3 == 0 ? $"{{\"return\": {i}}}" : "{\"return\": {}}", lines[i - 1]);
    }

    [Fact]
    public async Task Replies_larger_than_the_socket_buffer_reach_a_host_that_reads_late()
    {
        using var host = await ConnectAsync(StartAgent());
        const int count = 40_000; // ~600 KB of replies: the socket takes part, the loop waits for POLLOUT
        var send = Task.Run(() => host.Send(Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("{\"execute\":\"guest-ping\"}", count)))));
        await Task.Delay(1000);
        var lines = await ReadLinesAsync(host, count);
        await send;
        Assert.Equal(count, lines.Count);
        Assert.All(lines, line => Assert.Equal("{\"return\": {}}", line));
    }

    [Fact]
    public async Task A_second_client_is_served_after_the_first_hangs_up()
    {
        var sock = StartAgent();
        using (var first = await ConnectAsync(sock))
        {
            await first.SendAsync("{\"execute\":\"guest-sync\",\"arguments\":{\"id\":1}}"u8.ToArray(), SocketFlags.None);
            Assert.Equal(["{\"return\": 1}"], await ReadLinesAsync(first, 1));
        }
        using var second = await ConnectAsync(sock);
        await second.SendAsync("{\"execute\":\"guest-sync\",\"arguments\":{\"id\":2}}"u8.ToArray(), SocketFlags.None);
        Assert.Equal(["{\"return\": 2}"], await ReadLinesAsync(second, 1));
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing) Directory.Delete(_dir, recursive: true);
    }
}
