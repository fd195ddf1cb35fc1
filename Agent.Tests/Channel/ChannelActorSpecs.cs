using Agent.Actors.Channel;
using Agent.Actors.Dispatch;
using Agent.Actors.Settings;
using Agent.Protocol.Envelope;
using Agent.Protocol.Json;
using Akka.Actor;
using Akka.Configuration;
using System.Runtime.CompilerServices;
using Xunit.Abstractions;

namespace Agent.Tests.Channel;

/// <summary>The channel against a probe playing the dispatcher: what it submits, and when.</summary>
public sealed class ChannelActorSpecs(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit(output: output)
{
    private (InMemoryTransport Host, Akka.TestKit.TestProbe Dispatcher, IActorRef Channel) StartChannel(
        string config = "", InMemoryTransport? host = null, Func<ITransport>? transport = null)
    {
        var memory = host ?? new InMemoryTransport();
        var dispatcher = CreateTestProbe();
        var settings = AgentSettings.Create(ConfigurationFactory.ParseString(config)).Channel;
        var channel = Sys.ActorOf(ChannelActor.Props(settings, transport ?? (() => memory), dispatcher));
        return (memory, dispatcher, channel);
    }

    private static string Ping(int id) => $"{{\"execute\":\"guest-ping\",\"id\":{id}}}";

    [Fact]
    public void A_burst_is_parsed_a_window_at_a_time_and_every_request_is_submitted_in_order()
    {
        var (host, dispatcher, channel) = StartChannel();
        // 1,000 requests in one read: only the first 256 are parsed until answers come back.
        host.Send(string.Concat(Enumerable.Range(0, 1000).Select(Ping)));
        var submits = new List<Dispatcher.Submit>();
        for (var i = 0; i < 256; i++) submits.Add(dispatcher.ExpectMsg<Dispatcher.Submit>());
        dispatcher.ExpectNoMsg(TimeSpan.FromMilliseconds(300));

        // Each answer makes room for one more; all 1,000 arrive, in the order they were written.
        var next = 0;
        while (submits.Count < 1000 || next < submits.Count)
        {
            var submit = submits[next++];
            channel.Tell(new Dispatcher.Delivery(submit.Ticket, null), dispatcher.Ref);
            if (submits.Count < 1000) submits.Add(dispatcher.ExpectMsg<Dispatcher.Submit>());
        }
        var ids = submits.Select(s => ((JsonInt)((JsonObject)((StreamValue)s.Item).Value)["id"]!).Value);
        Assert.Equal(Enumerable.Range(0, 1000).Select(i => (long)i), ids);
        dispatcher.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
    }

    // Long lines (Replies.ChunkedAbove) are encoded a chunk at a time as the transport takes them.

    private static string Text(byte[] line) => System.Text.Encoding.Latin1.GetString(line).TrimEnd('\n');

    /// <summary>
    /// Submits one ping per id and returns the tickets. A long line is over the reply budget by itself,
    /// so the backlog news it causes may come first; those are not what these specs look at.
    /// </summary>
    private static List<long> Submit(InMemoryTransport host, Akka.TestKit.TestProbe dispatcher, params int[] ids)
    {
        host.Send(string.Concat(ids.Select(Ping)));
        return ids.Select(_ => ((Dispatcher.Submit)dispatcher.FishForMessage(m => m is Dispatcher.Submit)).Ticket).ToList();
    }

    /// <summary>
    /// Delivers a reply with <paramref name="length"/> bytes of exec output in uneven pieces as a chunked
    /// line; returns the line built whole, and a weak reference to the output the line holds.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static (byte[] Whole, WeakReference Data) DeliverLongLine(IActorRef channel, IActorRef dispatcher, long ticket, int length, long id)
    {
        var data = new byte[length];
        new Random(length).NextBytes(data);
        var pieces = new List<ReadOnlyMemory<byte>>();
        for (var at = 0; at < length; at += 4097) pieces.Add(data.AsMemory(at, Math.Min(4097, length - at)));
        var reply = Replies.Return(JsonObject.Of(
            ("exited", JsonBool.True), ("out-data", JsonString.Base64Of(ByteSequence.Of(pieces)))), new JsonInt(id));
        var (line, chunked) = Replies.ChunkedLineWithin(reply, 100_000_000);
        Assert.Null(line);
        channel.Tell(new Dispatcher.Delivery(ticket, null, chunked), dispatcher);
        return (Replies.Line(reply), new WeakReference(data));
    }

    private static byte[] SmallLine(long id) => Replies.Line(Replies.Return(JsonObject.Empty, new JsonInt(id)));

    private void AwaitReleased(WeakReference data) => AwaitAssert(() =>
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        Assert.False(data.IsAlive, "the channel still holds the long line's data");
    }, TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(50));

    [Fact]
    public async Task Short_replies_before_and_after_a_long_line_keep_their_order_and_every_line_its_bytes()
    {
        var (host, dispatcher, channel) = StartChannel();
        var tickets = Submit(host, dispatcher, 1, 2, 3, 4);
        channel.Tell(new Dispatcher.Delivery(tickets[0], SmallLine(1)), dispatcher.Ref);
        var (whole, data) = DeliverLongLine(channel, dispatcher.Ref, tickets[1], 300_001, 2);
        channel.Tell(new Dispatcher.Delivery(tickets[2], SmallLine(3)), dispatcher.Ref);
        channel.Tell(new Dispatcher.Delivery(tickets[3], SmallLine(4)), dispatcher.Ref);

        Assert.Equal(Text(SmallLine(1)), await host.ReadLineAsync());
        Assert.Equal(Text(whole), await host.ReadLineAsync());
        Assert.Equal(Text(SmallLine(3)), await host.ReadLineAsync());
        Assert.Equal(Text(SmallLine(4)), await host.ReadLineAsync());
        Assert.True(await host.StaysSilentAsync(TimeSpan.FromMilliseconds(100)));
        AwaitReleased(data);
    }

    [Fact]
    public void A_listener_client_that_stops_reading_mid_line_is_cut_off_after_write_timeout_and_the_line_let_go()
    {
        var (host, dispatcher, channel) = StartChannel("agent.channel.write-timeout = 300ms");
        var ticket = Submit(host, dispatcher, 1).Single();
        host.StallAfter(100_000);
        var (_, data) = DeliverLongLine(channel, dispatcher.Ref, ticket, 1_000_000, 1);
        AwaitCondition(() => host.HasStalledMidWrite, TimeSpan.FromSeconds(10));
        AwaitReleased(data);
        Assert.Equal(100_000, host.BytesWritten);
        Assert.Equal(2, host.WriteCalls); // a 64 KiB chunk, then the one cut off: nothing after it

        // The channel goes on: a new client is answered.
        host.Reconnect();
        host.ResumeWrites();
        var next = Submit(host, dispatcher, 2).Single();
        channel.Tell(new Dispatcher.Delivery(next, SmallLine(2)), dispatcher.Ref);
        AwaitAssert(() => Assert.Equal(100_000 + SmallLine(2).Length, host.BytesWritten), TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task A_serial_port_host_that_stops_reading_mid_line_gets_the_whole_line_when_it_reads_again()
    {
        var serial = new InMemoryTransport(cutsOffStalledClients: false);
        var (host, dispatcher, channel) = StartChannel("agent.channel.write-timeout = 300ms", serial);
        var ticket = Submit(host, dispatcher, 1).Single();
        host.StallAfter(100_000);
        var (whole, data) = DeliverLongLine(channel, dispatcher.Ref, ticket, 400_000, 1);
        AwaitCondition(() => host.HasStalledMidWrite, TimeSpan.FromSeconds(10));
        await Task.Delay(900); // three write timeouts
        GC.Collect();
        Assert.True(data.IsAlive); // mid-line, the data is still needed
        Assert.Equal(100_000, host.BytesWritten);

        host.ResumeWrites();
        Assert.Equal(Text(whole), await host.ReadLineAsync());
        AwaitReleased(data);
    }

    [Fact]
    public void A_client_that_disconnects_mid_line_has_the_line_let_go_and_its_connection_ended()
    {
        var (host, dispatcher, channel) = StartChannel();
        var ticket = Submit(host, dispatcher, 1).Single();
        host.StallAfter(70_000);
        var (_, data) = DeliverLongLine(channel, dispatcher.Ref, ticket, 1_000_000, 1);
        AwaitCondition(() => host.HasStalledMidWrite, TimeSpan.FromSeconds(10));
        Assert.Empty(host.EndedConnections);

        host.Reconnect();
        AwaitReleased(data);
        AwaitCondition(() => host.EndedConnections.SequenceEqual([1L]), TimeSpan.FromSeconds(10));
        Assert.Equal(70_000, host.BytesWritten);
    }

    [Fact]
    public async Task A_long_line_counts_whole_against_the_reply_budget_until_it_is_written()
    {
        var (host, dispatcher, channel) = StartChannel("agent.channel.reply-budget = 256KiB");
        var ticket = Submit(host, dispatcher, 1).Single();
        host.StallAfter(100_000);
        var (whole, _) = DeliverLongLine(channel, dispatcher.Ref, ticket, 300_000, 1);
        Assert.True(dispatcher.ExpectMsg<Dispatcher.RepliesBacklogged>().Full);
        AwaitCondition(() => host.HasStalledMidWrite, TimeSpan.FromSeconds(10));
        Assert.False(host.Reading);

        host.ResumeWrites();
        Assert.Equal(Text(whole), await host.ReadLineAsync());
        Assert.False(dispatcher.ExpectMsg<Dispatcher.RepliesBacklogged>().Full);
        AwaitCondition(() => host.Reading, TimeSpan.FromSeconds(10));
    }

    [Fact]
    public void A_unix_socket_client_that_stops_reading_mid_line_is_cut_off_and_reads_no_line_end()
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("chunked-").FullName, "agent.sock");
        var (_, dispatcher, channel) = StartChannel("agent.channel.write-timeout = 500ms", host: null, transport: () => ListenTransport.Unix(path, 4096));
        using var client = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
        AwaitAssert(() => client.Connect(new System.Net.Sockets.UnixDomainSocketEndPoint(path)), TimeSpan.FromSeconds(10));
        client.Send(System.Text.Encoding.ASCII.GetBytes(Ping(1)));
        var ticket = dispatcher.ExpectMsg<Dispatcher.Submit>().Ticket;

        // 24 MB of output: a 32 MB line, far more than the socket's buffer (4 MiB asked, at most 8 MiB).
        var (whole, data) = DeliverLongLine(channel, dispatcher.Ref, ticket, 24_000_000, 1);
        AwaitReleased(data);

        // The client was shut down part-way: what it can still read is a prefix of the line, without its end.
        var received = new MemoryStream();
        var buffer = new byte[1 << 20];
        client.ReceiveTimeout = 10_000;
        int n;
        while ((n = client.Receive(buffer)) > 0) received.Write(buffer, 0, n);
        Assert.InRange(received.Length, 1, whole.Length - 1);
        Assert.Equal(whole.AsSpan(0, (int)received.Length).ToArray(), received.ToArray());
    }
}
