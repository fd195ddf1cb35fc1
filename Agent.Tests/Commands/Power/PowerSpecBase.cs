using Agent.Actors.Commands;
using Agent.Actors.Commands.Power;
using Agent.Actors.Processes;
using Agent.Actors.Settings;
using Agent.Protocol.Json;
using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Xunit.Abstractions;
using Agent.Tests.Fakes;

namespace Agent.Tests.Commands.Power;

/// <summary>
/// The power family over a <see cref="FakeGuest"/>, under virtual time: helper timeouts fire only when
/// a test advances the TestScheduler. Helpers are real processes (fake scripts), reaped for real.
/// </summary>
public abstract class PowerSpecBase : FamilySpec
{
    protected PowerSpecBase(ITestOutputHelper output)
        : base(output, virtualTime: true)
    {
    }

    /// <summary>The family actor as the dispatcher would create it, over the fake guest.</summary>
    protected IActorRef Power(string agentHocon = "")
    {
        var settings = Guest.Settings(agentHocon);
        var reaper = Sys.ActorOf(ReaperActor.Props(settings.Processes));
        return Sys.ActorOf(PowerActor.Family.Props(new CommandContext(settings, reaper)));
    }

    /// <summary>
    /// Waits until a helper has logged <paramref name="call"/>, i.e. it is running, and so its timer is
    /// set: ChildProcess arms it before it spawns.
    /// </summary>
    protected async Task HelperStarted(string call) =>
        await AwaitConditionAsync(() => Task.FromResult(Guest.Calls().Contains(call)), Patience);
}
