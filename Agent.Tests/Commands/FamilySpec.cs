using Agent.Actors.Commands;
using Agent.Actors.Settings;
using Agent.Protocol.Envelope;
using Agent.Protocol.Json;
using Agent.Tests.Fakes;
using Akka.Actor;
using Akka.Configuration;
using Akka.TestKit;
using Xunit.Abstractions;

namespace Agent.Tests.Commands;

/// <summary>
/// The one test base for a command family: it plays the dispatcher (sends Execute, awaits the one
/// answer with the same seq) and owns the fakes a family runs over: a temp folder (<see cref="Dir"/>),
/// a fake guest (<see cref="Guest"/>: sysfs, procfs, etc and helper scripts), both removed afterwards.
/// With virtual time, timers fire only when a test advances <see cref="Clock"/>; helpers are real
/// processes either way, reaped for real.
/// </summary>
public abstract class FamilySpec : Akka.TestKit.Xunit2.TestKit
{
    /// <summary>How long any answer may take. Generous: other builds and test runs share this 2-core machine.</summary>
    protected static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly Lazy<string> _dir = new(() => Directory.CreateTempSubdirectory("actoragent-spec-").FullName);
    private readonly Lazy<FakeGuest> _guest = new(() => new FakeGuest());
    private long _seq;

    protected FamilySpec(ITestOutputHelper output, bool virtualTime = false)
        : base(virtualTime
            ? """
              akka.loglevel = WARNING
              akka.scheduler.implementation = "Akka.TestKit.TestScheduler, Akka.TestKit"
              """
            : "akka.loglevel = WARNING", output: output)
    {
    }

    /// <summary>A temp folder of the spec's own.</summary>
    protected string Dir => _dir.Value;

    protected FakeGuest Guest => _guest.Value;

    /// <summary>The virtual clock; only for specs built with virtualTime.</summary>
    protected TestScheduler Clock => (TestScheduler)Sys.Scheduler;

    protected static JsonInt I(long value) => new(value);
    protected static JsonString S(string value) => new(value);
    protected static JsonString B64(string text) => new(Convert.ToBase64String(global::System.Text.Encoding.Latin1.GetBytes(text)));
    protected static JsonObject Args(params (string, JsonValue?)[] members) => JsonObject.Of(members);

    /// <summary>Sends one Execute as the dispatcher would and returns the family's answer for it.</summary>
    protected async Task<object> Run(IActorRef family, string command, JsonObject? args = null)
    {
        var seq = Interlocked.Increment(ref _seq);
        family.Tell(new Execute(seq, command, args ?? JsonObject.Empty), TestActor);
        var answer = await ExpectMsgAsync<object>(Patience);
        Assert.Equal(seq, answer switch { CommandSucceeded s => s.Seq, CommandFailed f => f.Seq, _ => -1 });
        return answer;
    }

    /// <summary>Runs a command that must succeed and returns its value.</summary>
    protected async Task<JsonValue> Succeeds(IActorRef family, string command, JsonObject? args = null) =>
        await Run(family, command, args) switch
        {
            CommandSucceeded s => s.Value,
            CommandFailed f => throw new Xunit.Sdk.XunitException($"{command} failed: {f.Error.Class}: {f.Error.Desc}"),
            var other => throw new Xunit.Sdk.XunitException($"{command}: unexpected answer {other}"),
        };

    protected Task<JsonValue> Ok(IActorRef family, string command, params (string, JsonValue?)[] args) =>
        Succeeds(family, command, JsonObject.Of(args));

    /// <summary>Runs a command that must fail and returns its error.</summary>
    protected async Task<QmpError> Error(IActorRef family, string command, JsonObject? args = null) =>
        await Run(family, command, args) switch
        {
            CommandFailed f => f.Error,
            var other => throw new Xunit.Sdk.XunitException($"{command}: expected an error, got {other}"),
        };

    /// <summary>Runs a command that must fail with a GenericError and returns its text.</summary>
    protected async Task<string> Fails(IActorRef family, string command, JsonObject? args = null)
    {
        var error = await Error(family, command, args);
        Assert.Equal("GenericError", error.Class);
        return error.Desc;
    }

    protected Task<string> Fails(IActorRef family, string command, params (string, JsonValue?)[] args) =>
        Fails(family, command, JsonObject.Of(args));

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

    protected static long Member(JsonValue obj, string name) => ((JsonInt)((JsonObject)obj)[name]!).Value;
    protected static bool Flag(JsonValue obj, string name) => ((JsonBool)((JsonObject)obj)[name]!).Value;
    protected static string Text(JsonValue obj, string name) => ((JsonString)((JsonObject)obj)[name]!).Value;

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (!disposing) return;
        if (_guest.IsValueCreated) _guest.Value.Dispose();
        if (_dir.IsValueCreated)
        {
            try { Directory.Delete(_dir.Value, recursive: true); }
            catch (IOException) { /* a test's child may still hold a file; the OS cleans /tmp */ }
        }
    }
}
