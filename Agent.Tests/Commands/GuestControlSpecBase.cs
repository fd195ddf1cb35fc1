using Agent.Actors.Commands;
using Agent.Actors.Processes;
using Agent.Actors.Settings;
using Agent.Protocol.Json;
using Agent.Tests.Fakes;
using Agent.Tests.Commands.Power;
using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Xunit.Abstractions;

namespace Agent.Tests.Commands;

/// <summary>
/// Families that change the guest, over a <see cref="FakeGuest"/> (fake sysfs, etc and helper scripts
/// in a temp folder) and fake seams, under virtual time.
/// </summary>
public abstract class GuestControlSpecBase : FamilySpec
{
    protected GuestControlSpecBase(ITestOutputHelper output)
        : base(output, virtualTime: true)
    {
    }

    protected AgentSettings Settings(string agentHocon = "") => Guest.Settings(agentHocon);

    protected IActorRef Reaper(AgentSettings settings) => Sys.ActorOf(ReaperActor.Props(settings.Processes));

    protected static JsonArray Strings(params string[] values) => new(values.Select(v => (JsonValue)new JsonString(v)).ToArray());

    /// <summary>
    /// The reply as written on the wire equals <paramref name="expected"/> up to member order (the writer
    /// emits members in qemu's hash order, which the spec tests elsewhere).
    /// </summary>
    protected static void AssertJson(string expected, JsonValue actual)
    {
        var written = JsonWriter.ToJson(actual);
        Assert.True(global::System.Text.Json.Nodes.JsonNode.DeepEquals(global::System.Text.Json.Nodes.JsonNode.Parse(expected), global::System.Text.Json.Nodes.JsonNode.Parse(written)),
            $"expected {expected}\nactual   {written}");
    }
}
