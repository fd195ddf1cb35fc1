using Agent.Actors.Commands;
using Agent.Protocol.Json;
using Agent.Tests.Fakes;
using Agent.Tests.Commands.Power;
using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Xunit.Abstractions;

namespace Agent.Tests.Commands;

/// <summary>
/// A command family over a <see cref="FakeGuest"/> (fake sysfs, procfs, etc and helper scripts in a
/// temp folder), under virtual time: timeouts fire only when a test advances the TestScheduler.
/// Helpers are real processes (fake scripts), reaped for real.
/// </summary>
public abstract class FakeGuestSpec : TestKit
{
    protected static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);
    private long _seq;

    protected FakeGuest Guest { get; } = new();

    protected FakeGuestSpec(ITestOutputHelper output)
        : base("""
               akka.loglevel = WARNING
               akka.scheduler.implementation = "Akka.TestKit.TestScheduler, Akka.TestKit"
               """, output: output)
    {
    }

    protected TestScheduler Clock => (TestScheduler)Sys.Scheduler;

    /// <summary>Sends one Execute as the dispatcher would and returns the family's answer for it.</summary>
    protected async Task<object> Run(IActorRef family, string command, JsonObject? args = null)
    {
        var seq = ++_seq;
        family.Tell(new Execute(seq, command, args ?? JsonObject.Empty), TestActor);
        var answer = await ExpectMsgAsync<object>(Wait);
        Assert.Equal(seq, answer switch { CommandSucceeded s => s.Seq, CommandFailed f => f.Seq, _ => -1 });
        return answer;
    }

    protected async Task<JsonValue> Succeeds(IActorRef family, string command, JsonObject? args = null)
    {
        var answer = await Run(family, command, args);
        return Assert.IsType<CommandSucceeded>(answer).Value;
    }

    protected async Task<string> Fails(IActorRef family, string command, JsonObject? args = null)
    {
        var failed = Assert.IsType<CommandFailed>(await Run(family, command, args));
        Assert.Equal("GenericError", failed.Error.Class);
        return failed.Error.Desc;
    }

    protected static JsonObject Args(params (string, JsonValue?)[] members) => JsonObject.Of(members);

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing) Guest.Dispose();
    }
}
