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

    /// <summary>On "go": tells <c>echo</c>, then the test; notes whether echo's answer came while "go" was running.</summary>
    private sealed class Relay(IActorRef echo, IActorRef test) : UntypedActor
    {
        private bool _inGo;

        protected override void OnReceive(object message)
        {
            switch (message)
            {
                case "go":
                    _inGo = true;
                    echo.Tell("hop");
                    test.Tell("relay told echo");
                    _inGo = false;
                    break;
                case "back":
                    test.Tell($"back while go ran: {_inGo}");
                    break;
            }
        }
    }

    private sealed class Echo(IActorRef test) : UntypedActor
    {
        protected override void OnReceive(object message)
        {
            test.Tell("echo handled hop");
            Sender.Tell("back");
        }
    }

    /// <summary>Passes a count back and forth with its peer until it reaches the goal; reports order breaks and the deepest stack.</summary>
    private sealed class Rally(IActorRef test, int goal) : UntypedActor
    {
        private int _last = -1;
        private int _deepest;
        private bool _inOrder = true;

        protected override void OnReceive(object message)
        {
            switch (message)
            {
                case IActorRef peer:
                    peer.Tell(0);
                    break;
                case int count:
                    if (_last >= 0 && count != _last + 2) _inOrder = false;
                    _last = count;
                    _deepest = Math.Max(_deepest, new System.Diagnostics.StackTrace().FrameCount);
                    if (count >= goal) test.Tell((_inOrder, _deepest));
                    else Sender.Tell(count + 1);
                    break;
            }
        }
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
    public void A_tell_to_an_idle_actor_on_the_loop_runs_it_at_once_and_its_answer_waits_for_the_running_one()
    {
        var loop = "agent.channel.event-loop";
        var echo = Sys.ActorOf(Props.Create(() => new Echo(TestActor)).WithDispatcher(loop));
        var relay = Sys.ActorOf(Props.Create(() => new Relay(echo, TestActor)).WithDispatcher(loop));

        relay.Tell("go");

        // Echo ran inside relay's tell (no queue round trip); its answer reached relay after "go" ended.
        ExpectMsg("echo handled hop");
        ExpectMsg("relay told echo");
        ExpectMsg("back while go ran: False");
    }

    [Fact]
    public void A_long_rally_between_two_actors_on_the_loop_keeps_order_on_a_bounded_stack()
    {
        var loop = "agent.channel.event-loop";
        const int goal = 20_000;
        var a = Sys.ActorOf(Props.Create(() => new Rally(TestActor, goal)).WithDispatcher(loop));
        var b = Sys.ActorOf(Props.Create(() => new Rally(TestActor, goal)).WithDispatcher(loop));

        a.Tell(b);

        var (inOrder, deepest) = ExpectMsg<(bool, int)>(TimeSpan.FromSeconds(30));
        Assert.True(inOrder);
        // Nested mailbox runs are capped: a rally of 20,000 tells would otherwise nest 20,000 deep.
        Assert.InRange(deepest, 1, 100);
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
