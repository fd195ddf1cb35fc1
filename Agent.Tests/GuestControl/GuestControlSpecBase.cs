using Agent.Actors.Commands;
using Agent.Actors.Processes;
using Agent.Actors.Settings;
using Agent.Protocol.Json;
using Agent.Tests.Power;
using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Xunit.Abstractions;

namespace Agent.Tests.GuestControl;

/// <summary>
/// Families that change the guest, over a <see cref="FakeGuest"/> (fake sysfs, etc and helper scripts
/// in a temp folder) and fake seams, under virtual time.
/// </summary>
public abstract class GuestControlSpecBase : TestKit
{
    protected static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);
    private long _seq;

    protected FakeGuest Guest { get; } = new();

    protected GuestControlSpecBase(ITestOutputHelper output)
        : base("""
               akka.loglevel = WARNING
               akka.scheduler.implementation = "Akka.TestKit.TestScheduler, Akka.TestKit"
               """, output: output)
    {
    }

    protected TestScheduler Clock => (TestScheduler)Sys.Scheduler;

    protected AgentSettings Settings(string agentHocon = "") => Guest.Settings(agentHocon);

    protected IActorRef Reaper(AgentSettings settings) => Sys.ActorOf(ReaperActor.Props(settings.Processes));

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

    protected static JsonArray Strings(params string[] values) => new(values.Select(v => (JsonValue)new JsonString(v)).ToArray());

    /// <summary>
    /// The reply as written on the wire equals <paramref name="expected"/> up to member order (the writer
    /// emits members in qemu's hash order, which the spec tests elsewhere).
    /// </summary>
    protected static void AssertJson(string expected, JsonValue actual)
    {
        var written = JsonWriter.ToJson(actual);
        Assert.True(System.Text.Json.Nodes.JsonNode.DeepEquals(System.Text.Json.Nodes.JsonNode.Parse(expected), System.Text.Json.Nodes.JsonNode.Parse(written)),
            $"expected {expected}\nactual   {written}");
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing) Guest.Dispose();
    }
}
