using Agent.Actors;
using Agent.Actors.Channel;
using Agent.Actors.Commands;
using Agent.Actors.Processes;
using Agent.Actors.Settings;
using Agent.Tests.Fakes;
using Akka.Actor;
using Akka.Configuration;
using Xunit.Abstractions;

namespace Agent.Tests.Channel;

/// <summary>
/// What the event loop asks before each busy poll (<see cref="OffLoopWork"/>): the dispatcher counts a
/// command from its start until its reply, so one left running off the loop (a family on the ThreadPool,
/// one that never answers) is counted until it is answered, while a command answered on the loop leaves
/// nothing counted; a process owner counts its child from spawn until it stops; the loop of the
/// event-loop dispatcher reads its actor system's one.
/// </summary>
public sealed class OffLoopWorkSpecs(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit("akka.loglevel = OFF", output: output), IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);
    private readonly FakeGuest _guest = new();

    private OffLoopWork Work => OffLoopWork.For(Sys);

    private async Task CountReaches(int expected)
    {
        var deadline = DateTime.UtcNow + Wait;
        while (Work.UnderWay != expected && DateTime.UtcNow < deadline) await Task.Delay(10);
        Assert.Equal(expected, Work.UnderWay);
    }

    private sealed class SilentFamily : UntypedActor
    {
        protected override void OnReceive(object message) { }
    }

    private InMemoryTransport StartAgent(IReadOnlyList<CommandFamily> families, string agentHocon = "") =>
        _guest.StartAgent(Sys, families, agentHocon);

    [Fact]
    public async Task A_command_is_counted_until_it_is_answered_and_one_answered_on_the_loop_leaves_nothing_counted()
    {
        var families = CommandCatalog.Families
            .Select(f => f.Name != "identity" ? f : f with { Props = _ => Props.Create(() => new SilentFamily()) })
            .ToArray();
        var host = StartAgent(families, "dispatch { deadline = 1s, abandon-grace = 200ms }");

        host.Send("{\"execute\":\"guest-ping\",\"id\":1}");
        Assert.Equal("{\"return\": {}, \"id\": 1}", await host.ReadLineAsync());
        Assert.Equal(0, Work.UnderWay);

        host.Send("{\"execute\":\"guest-get-host-name\",\"id\":2}");
        await CountReaches(1);
        await Task.Delay(300);
        Assert.Equal(1, Work.UnderWay); // still unanswered
        Assert.Contains("did not finish within 1 s", await host.ReadLineAsync(Wait));
        Assert.Equal(0, Work.UnderWay);

        host.Send("{\"execute\":\"guest-ping\",\"id\":3}");
        Assert.Equal("{\"return\": {}, \"id\": 3}", await host.ReadLineAsync());
        Assert.Equal(0, Work.UnderWay);
    }

    [Fact]
    public async Task A_guest_exec_child_is_counted_from_its_spawn_until_its_owner_stops()
    {
        var host = StartAgent(CommandCatalog.Families);
        var marker = Path.Combine(_guest.Root, "go");
        host.Send("{\"execute\":\"guest-exec\",\"arguments\":{\"path\":\"/bin/sh\",\"arg\":[\"-c\",\"while [ ! -e " + marker +
                  " ]; do sleep 0.05; done\"],\"capture-output\":true},\"id\":1}");
        var started = await host.ReadLineAsync(Wait);
        var pid = started[("{\"return\": {\"pid\": ".Length)..started.IndexOf('}')];

        // guest-exec is answered: the command is done, the child still runs.
        await CountReaches(1);
        await Task.Delay(200);
        Assert.Equal(1, Work.UnderWay);

        File.WriteAllText(marker, "");
        var deadline = DateTime.UtcNow + Wait;
        while (true)
        {
            host.Send("{\"execute\":\"guest-exec-status\",\"arguments\":{\"pid\":" + pid + "}}");
            if ((await host.ReadLineAsync(Wait)).Contains("\"exited\": true")) break;
            Assert.True(DateTime.UtcNow < deadline, "the child did not exit");
            await Task.Delay(20);
        }
        await CountReaches(0);
    }

    [Fact]
    public async Task A_child_that_cannot_be_spawned_leaves_nothing_counted()
    {
        var reaper = Sys.ActorOf(ReaperActor.Props(new ProcessSettings(TimeSpan.FromSeconds(1), 64 * 1024)), "reaper");
        var owner = Sys.ActorOf(ChildProcess.Props(new SpawnSpec(Path.Combine(_guest.Root, "missing"), []), reaper, TestActor));
        Watch(owner);
        await ExpectMsgAsync<ChildSpawnFailed>(Wait);
        await ExpectTerminatedAsync(owner, Wait);
        Assert.Equal(0, Work.UnderWay);
    }

    [Fact]
    public void The_event_loop_dispatcher_reads_its_actor_systems_work_when_it_busy_polls()
    {
        var prerequisites = Sys.Dispatchers.Prerequisites;
        var spinning = new EventLoopConfigurator(ConfigurationFactory.ParseString("busy-poll = 0.1ms"), prerequisites).Produce("spinning");
        var sleeping = new EventLoopConfigurator(ConfigurationFactory.ParseString("busy-poll = 0"), prerequisites).Produce("sleeping");
        try
        {
            Assert.Same(Work, ((EventLoop)spinning).OffLoopWork);
            Assert.Null(((EventLoop)sleeping).OffLoopWork);
        }
        finally
        {
            spinning.Shutdown();
            sleeping.Shutdown();
        }
    }

    void IDisposable.Dispose()
    {
        base.Dispose();
        _guest.Dispose();
    }
}
