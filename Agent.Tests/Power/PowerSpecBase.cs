using Agent.Actors.Commands;
using Agent.Actors.Commands.Power;
using Agent.Actors.Processes;
using Agent.Actors.Settings;
using Agent.Protocol.Json;
using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Xunit.Abstractions;

namespace Agent.Tests.Power;

/// <summary>
/// The power family over a <see cref="FakeGuest"/>, under virtual time: helper timeouts fire only when
/// a test advances the TestScheduler. Helpers are real processes (fake scripts), reaped for real.
/// </summary>
public abstract class PowerSpecBase : TestKit
{
    protected static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);
    private long _seq;

    protected FakeGuest Guest { get; } = new();

    protected PowerSpecBase(ITestOutputHelper output)
        : base("""
               akka.loglevel = WARNING
               akka.scheduler.implementation = "Akka.TestKit.TestScheduler, Akka.TestKit"
               """, output: output)
    {
    }

    protected TestScheduler Clock => (TestScheduler)Sys.Scheduler;

    /// <summary>The family actor as the dispatcher would create it, over the fake guest.</summary>
    protected IActorRef Power(string agentHocon = "")
    {
        var settings = Guest.Settings(agentHocon);
        var reaper = Sys.ActorOf(ReaperActor.Props(settings.Processes));
        return Sys.ActorOf(PowerActor.Family.Props(new CommandContext(settings, reaper)));
    }

    protected async Task<object> Run(IActorRef power, string command, JsonObject? args = null)
    {
        var seq = ++_seq;
        power.Tell(new Execute(seq, command, args ?? JsonObject.Empty));
        var answer = await ExpectMsgAsync<object>(Wait);
        Assert.Equal(seq, answer switch { CommandSucceeded s => s.Seq, CommandFailed f => f.Seq, _ => -1 });
        return answer;
    }

    protected async Task Succeeds(IActorRef power, string command, JsonObject? args = null)
    {
        var answer = await Run(power, command, args);
        Assert.True(answer is CommandSucceeded, $"expected success, got {answer}");
    }

    protected async Task<string> Fails(IActorRef power, string command, JsonObject? args = null)
    {
        var answer = await Run(power, command, args);
        var failed = Assert.IsType<CommandFailed>(answer);
        Assert.Equal("GenericError", failed.Error.Class);
        return failed.Error.Desc;
    }

    /// <summary>Waits until a helper has logged <paramref name="call"/>, i.e. it is running and its timer is set.</summary>
    protected async Task HelperStarted(string call)
    {
        await AwaitConditionAsync(() => Task.FromResult(Guest.Calls().Contains(call)), Wait);
        await Task.Delay(500); // the owner arms its timeout right after spawning; give it that moment
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing) Guest.Dispose();
    }
}
