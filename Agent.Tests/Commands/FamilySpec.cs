using Agent.Actors.Commands;
using Agent.Protocol.Json;
using Akka.Actor;
using Xunit.Abstractions;

namespace Agent.Tests.Commands;

/// <summary>
/// Plays the dispatcher for one command family: sends Execute and awaits the one answer.
/// Each spec gets its own temp folder, removed afterwards.
/// </summary>
public abstract class FamilySpec : Akka.TestKit.Xunit2.TestKit
{
    /// <summary>Generous: other builds and test runs share this 2-core machine.</summary>
    protected static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    protected readonly string Dir = Directory.CreateTempSubdirectory("actoragent-spec-").FullName;
    private long _seq;

    protected FamilySpec(ITestOutputHelper output) : base("akka.loglevel = WARNING", output: output) { }

    protected static JsonInt I(long value) => new(value);
    protected static JsonString S(string value) => new(value);
    protected static JsonString B64(string text) => new(Convert.ToBase64String(global::System.Text.Encoding.Latin1.GetBytes(text)));

    /// <summary>Runs a command that must succeed and returns its value.</summary>
    protected async Task<JsonValue> Ok(IActorRef family, string command, params (string, JsonValue?)[] args)
    {
        var reply = await Run(family, command, args);
        return reply switch
        {
            CommandSucceeded s => s.Value,
            CommandFailed f => throw new Xunit.Sdk.XunitException($"{command} failed: {f.Error.Class}: {f.Error.Desc}"),
            _ => throw new Xunit.Sdk.XunitException($"{command}: unexpected answer {reply}"),
        };
    }

    /// <summary>Runs a command that must fail with a GenericError and returns its text.</summary>
    protected async Task<string> Fails(IActorRef family, string command, params (string, JsonValue?)[] args)
    {
        var reply = await Run(family, command, args);
        return reply switch
        {
            CommandFailed { Error.Class: "GenericError" } f => f.Error.Desc,
            _ => throw new Xunit.Sdk.XunitException($"{command}: expected a GenericError, got {reply}"),
        };
    }

    private async Task<object> Run(IActorRef family, string command, (string, JsonValue?)[] args)
    {
        var seq = Interlocked.Increment(ref _seq);
        family.Tell(new Execute(seq, command, JsonObject.Of(args)), TestActor);
        var reply = await ExpectMsgAsync<object>(Patience);
        var replySeq = reply switch { CommandSucceeded s => s.Seq, CommandFailed f => f.Seq, _ => -1 };
        Assert.Equal(seq, replySeq);
        return reply;
    }

    protected static long Member(JsonValue obj, string name) => ((JsonInt)((JsonObject)obj)[name]!).Value;
    protected static bool Flag(JsonValue obj, string name) => ((JsonBool)((JsonObject)obj)[name]!).Value;
    protected static string Text(JsonValue obj, string name) => ((JsonString)((JsonObject)obj)[name]!).Value;

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            try { Directory.Delete(Dir, recursive: true); }
            catch (IOException) { /* a test's child may still hold a file; the OS cleans /tmp */ }
        }
    }
}
