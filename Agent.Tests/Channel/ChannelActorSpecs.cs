using Agent.Actors.Channel;
using Agent.Actors.Dispatch;
using Agent.Actors.Settings;
using Agent.Protocol.Json;
using Akka.Actor;
using Akka.Configuration;
using Xunit.Abstractions;

namespace Agent.Tests.Channel;

/// <summary>The channel against a probe playing the dispatcher: what it submits, and when.</summary>
public sealed class ChannelActorSpecs(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit(output: output)
{
    private (InMemoryTransport Host, Akka.TestKit.TestProbe Dispatcher, IActorRef Channel) StartChannel()
    {
        var transport = new InMemoryTransport();
        var dispatcher = CreateTestProbe();
        var settings = AgentSettings.Create(ConfigurationFactory.Empty).Channel;
        var channel = Sys.ActorOf(ChannelActor.Props(settings, () => transport, dispatcher));
        return (transport, dispatcher, channel);
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
}
