using JsonNode = System.Text.Json.Nodes.JsonNode;
using Agent.Actors.Commands;
using Agent.Actors.Settings;
using Agent.Protocol.Envelope;
using Agent.Protocol.Json;
using Nodes = System.Text.Json.Nodes;
using Akka.Actor;
using Akka.Configuration;
using Xunit.Abstractions;
using Agent.Tests.Fakes;

namespace Agent.Tests.Commands;

/// <summary>A TestKit that plays the dispatcher: sends Execute to a family actor and returns its one answer.</summary>
public abstract class InventoryTestKit(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit(output: output)
{
    protected static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);
    private long _seq;

    protected async Task<JsonValue> Succeeds(IActorRef family, string command, JsonObject? args = null)
    {
        var seq = ++_seq;
        family.Tell(new Execute(seq, command, args ?? JsonObject.Empty), TestActor);
        var reply = await ExpectMsgAsync<object>(Patience);
        if (reply is CommandFailed f) Assert.Fail($"{command} failed: {f.Error.Desc}");
        var ok = Assert.IsType<CommandSucceeded>(reply);
        Assert.Equal(seq, ok.Seq);
        return ok.Value;
    }

    protected async Task<QmpError> Fails(IActorRef family, string command, JsonObject? args = null)
    {
        var seq = ++_seq;
        family.Tell(new Execute(seq, command, args ?? JsonObject.Empty), TestActor);
        var reply = await ExpectMsgAsync<object>(Patience);
        if (reply is CommandSucceeded s) Assert.Fail($"{command} succeeded: {Json.Text(s.Value)}");
        var failed = Assert.IsType<CommandFailed>(reply);
        Assert.Equal(seq, failed.Seq);
        return failed.Error;
    }

    /// <summary>Settings whose roots point into a fake tree; QGA_OS_RELEASE in the test's environment is ignored.</summary>
    protected static AgentSettings SettingsFor(FakeTree tree, string extra = "") => AgentSettings.Create(ConfigurationFactory.ParseString($$"""
        agent.paths {
          sysfs = "{{tree.Path("sys")}}"
          procfs = "{{tree.Path("proc")}}"
          etc = "{{tree.Path("etc")}}"
          usr = "{{tree.Path("usr")}}"
          dev = "/dev"
          utmp = "{{tree.Path("run/utmp")}}"
          udev-data = "{{tree.Path("run/udev/data")}}"
          os-release = ""
        }
        {{extra}}
        """));
}

/// <summary>Conversions between the agent's JSON model and System.Text.Json nodes, for assertions.</summary>
public static class Json
{
    public static JsonNode? Node(JsonValue value) => value switch
    {
        JsonNull => null,
        JsonBool b => Nodes.JsonValue.Create(b.Value),
        JsonInt i => Nodes.JsonValue.Create(i.Value),
        JsonUInt u => Nodes.JsonValue.Create(u.Value),
        JsonDouble d => Nodes.JsonValue.Create(d.Value),
        JsonString s => Nodes.JsonValue.Create(s.Value),
        JsonArray a => new Nodes.JsonArray(a.Items.Select(Node).ToArray()),
        JsonObject o => new Nodes.JsonObject(o.Members.Select(m => KeyValuePair.Create(m.Key, Node(m.Value)))),
        _ => throw new ArgumentOutOfRangeException(nameof(value)),
    };

    /// <summary>Compact JSON in the value's own member order.</summary>
    public static string Text(JsonValue value) => Node(value)?.ToJsonString() ?? "null";

    /// <summary>Re-serializes expected JSON written by hand, so whitespace in the test source does not matter.</summary>
    public static string Canonical(string json) => JsonNode.Parse(json)?.ToJsonString() ?? "null";
}
