using Agent.Actors;
using Agent.Actors.Commands;
using Agent.Actors.Commands.Freeze;
using Agent.Actors.State;
using Agent.Tests.Channel;
using Agent.Tests.Fakes;
using Agent.Tests.Commands;
using Agent.Tests.Commands.Power;
using Xunit.Abstractions;

namespace Agent.Tests.Dispatch;

/// <summary>
/// The whole actor tree over an in-memory transport, with the fsfreeze family on fake ioctls: the
/// dispatcher validates each request when it reaches the head of the queue, so a freeze earlier in a
/// pipeline disables the commands behind it, and a thaw enables them again.
/// </summary>
public sealed class FrozenGatingSpecs : Akka.TestKit.Xunit2.TestKit, IDisposable
{
    private readonly FakeGuest _guest = new();
    private readonly FakeFilesystems _filesystems = new();

    public FrozenGatingSpecs(ITestOutputHelper output) : base(output: output)
    {
        _guest.Proc("self/mountinfo", "22 1 254:1 / / rw - ext4 /dev/vda1 rw\n25 22 254:3 / /data rw - xfs /dev/vdb rw\n");
        Directory.CreateDirectory(Path.Combine(_guest.Root, "state"));
    }

    private InMemoryTransport StartAgent(FreezeState? freeze = null, string agentHocon = "")
    {
        var transport = new InMemoryTransport();
        var settings = _guest.Settings($"state-dir = \"{_guest.Root}/state\"\n{agentHocon}");
        var families = CommandCatalog.Families
            .Select(f => f.Name != FreezeActor.Family.Name ? f : f with
            {
                Props = ctx => FreezeActor.Props(FreezeContext.From(ctx) with { Filesystems = _filesystems, Stats = new FakeFilesystemStats() }),
            })
            .ToArray();
        Sys.ActorOf(AgentSupervisor.Props(settings, () => transport, families, freeze), "agent");
        return transport;
    }

    [Fact]
    public async Task A_freeze_disables_the_commands_queued_behind_it_and_a_thaw_enables_them()
    {
        var host = StartAgent();
        host.Send("""
            {"execute":"guest-fsfreeze-freeze","id":1}
            {"execute":"guest-get-osinfo","id":2}
            {"execute":"guest-fsfreeze-freeze","id":3}
            {"execute":"guest-fsfreeze-status","id":4}
            {"execute":"guest-sync","arguments":{"id":42},"id":5}
            {"execute":"guest-fsfreeze-thaw","id":6}
            {"execute":"guest-fsfreeze-status","id":7}
            """);

        Assert.Equal("{\"return\": 2, \"id\": 1}", await host.ReadLineAsync());
        Disabled("guest-get-osinfo", 2, await host.ReadLineAsync());
        Disabled("guest-fsfreeze-freeze", 3, await host.ReadLineAsync());
        Assert.Equal("{\"return\": \"frozen\", \"id\": 4}", await host.ReadLineAsync());
        Assert.Equal("{\"return\": 42, \"id\": 5}", await host.ReadLineAsync());
        Assert.Equal("{\"return\": 2, \"id\": 6}", await host.ReadLineAsync());
        Assert.Equal("{\"return\": \"thawed\", \"id\": 7}", await host.ReadLineAsync());

        host.Send("{\"execute\":\"guest-info\"}");
        Assert.DoesNotContain("\"enabled\": false", await host.ReadLineAsync());
    }

    private static void Disabled(string command, int id, string line)
    {
        var reply = Agent.Tests.EndToEnd.Json.Parse(line);
        Assert.Equal(id, reply.GetProperty("id").GetInt32());
        Assert.Equal("CommandNotFound", reply.GetProperty("error").GetProperty("class").GetString());
        Assert.Equal($"Command {command} has been disabled: the command is not allowed", reply.GetProperty("error").GetProperty("desc").GetString());
    }

    [Fact]
    public async Task Guest_info_reports_the_frozen_state_of_every_command()
    {
        File.WriteAllText(FrozenMarker.PathIn(Path.Combine(_guest.Root, "state")), "");
        var host = StartAgent(new FreezeState(frozen: true));
        host.Send("{\"execute\":\"guest-info\"}");
        var info = Agent.Tests.EndToEnd.Json.Parse(await host.ReadLineAsync()).GetProperty("return").GetProperty("supported_commands");

        var enabled = info.EnumerateArray().Where(c => c.GetProperty("enabled").GetBoolean()).Select(c => c.GetProperty("name").GetString()).ToHashSet();
        Assert.Equal(new HashSet<string?> { "guest-sync-delimited", "guest-sync", "guest-ping", "guest-info", "guest-fsfreeze-status", "guest-fsfreeze-thaw" }, enabled);
    }

    [Theory]
    [InlineData("1000000000000")]
    [InlineData("9223372036854775807")]
    [InlineData("-9223372036854775808")]
    public async Task An_auto_thaw_beyond_any_timer_is_refused_and_the_agent_goes_on(string seconds)
    {
        var host = StartAgent();
        host.Send($"{{\"execute\":\"guest-fsfreeze-freeze\",\"arguments\":{{\"__org.actoragent_auto-thaw\":{seconds}}},\"id\":1}}");
        var reply = Agent.Tests.EndToEnd.Json.Parse(await host.ReadLineAsync());
        Assert.Equal("Parameter '__org.actoragent_auto-thaw' expects a number of seconds from 0 to 31536000",
            reply.GetProperty("error").GetProperty("desc").GetString());
        Assert.Empty(_filesystems.Calls);
        host.Send("{\"execute\":\"guest-ping\",\"id\":2}");
        Assert.Equal("{\"return\": {}, \"id\": 2}", await host.ReadLineAsync());
    }

    [Fact]
    public async Task A_freeze_past_its_deadline_is_thawed_before_the_host_hears_of_it()
    {
        // The freeze phase of the hook outlasts the deadline; the freeze still completes, is undone
        // (thaw hook included), and only then does the error go out.
        var hook = Path.Combine(_guest.Bin, "fsfreeze-hook");
        _guest.Helper("fsfreeze-hook", "[ \"$1\" = freeze ] && sleep 2; exit 0");
        var host = StartAgent(agentHocon: $"fsfreeze.hook = \"{hook}\"\ndispatch.deadlines.guest-fsfreeze-freeze = 500ms");
        host.Send("{\"execute\":\"guest-fsfreeze-freeze\",\"id\":1}");

        var reply = Agent.Tests.EndToEnd.Json.Parse(await host.ReadLineAsync(TimeSpan.FromSeconds(60)));
        Assert.Equal("guest-fsfreeze-freeze did not finish within 500 ms (agent.dispatch.deadlines.guest-fsfreeze-freeze); " +
                     "the agent went on with the next request; the filesystems were thawed",
            reply.GetProperty("error").GetProperty("desc").GetString());
        Assert.Equal(["fsfreeze-hook freeze", "fsfreeze-hook thaw"], _guest.Calls());
        Assert.False(File.Exists(FrozenMarker.PathIn(Path.Combine(_guest.Root, "state"))));
        host.Send("{\"execute\":\"guest-fsfreeze-status\",\"id\":2}");
        Assert.Equal("{\"return\": \"thawed\", \"id\": 2}", await host.ReadLineAsync());
    }

    void IDisposable.Dispose()
    {
        base.Dispose();
        _guest.Dispose();
    }
}
