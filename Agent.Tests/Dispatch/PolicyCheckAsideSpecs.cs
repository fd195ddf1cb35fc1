using System.Text;
using Agent.Actors.Commands;
using Agent.Actors.Dispatch;
using Agent.Protocol.Envelope;
using Agent.Protocol.Json;
using Agent.Tests.Fakes;
using Akka.Actor;
using Xunit.Abstractions;

namespace Agent.Tests.Dispatch;

/// <summary>
/// A restricted guest-file-open resolves its path before it runs; a path on a hung mount must block
/// only that check: its deadline answers it and the requests behind it are served meanwhile.
/// </summary>
public sealed class PolicyCheckAsideSpecs(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit("akka.loglevel = OFF", output: output), IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);
    private readonly FakeGuest _guest = new();
    private readonly ManualResetEventSlim _mountAnswers = new();

    private IActorRef StartDispatcher(Func<string, string, string> resolve)
    {
        Directory.CreateDirectory(Path.Combine(_guest.Root, "state"));
        var settings = _guest.Settings($"state-dir = \"{_guest.Root}/state\"\npolicy.file.read = [\"{_guest.Root}\"]\n" +
                                       "dispatch { deadline = 300ms, abandon-grace = 200ms }");
        var context = new CommandContext(settings, ActorRefs.Nobody) { ResolvePath = resolve };
        return Sys.ActorOf(Dispatcher.Props(context, CommandRoutes.Create(CommandCatalog.Families)));
    }

    private static Dispatcher.Submit Request(long ticket, string command, JsonObject arguments) =>
        new(ticket, new StreamValue(new JsonObject(
        [
            new("execute", new JsonString(command)),
            new("arguments", arguments),
            new("id", new JsonInt(ticket)),
        ])));

    private static JsonObject PathArgument(string path) => new([new("path", new JsonString(path))]);

    private static string Error(string desc, long id) =>
        Encoding.UTF8.GetString(Replies.Line(Replies.Error(QmpError.Generic(desc), new JsonInt(id)))).TrimEnd('\n');

    private async Task<string> Reply(long ticket)
    {
        var delivery = await ExpectMsgAsync<Dispatcher.Delivery>(Patience);
        Assert.Equal(ticket, delivery.Ticket);
        return Encoding.UTF8.GetString(delivery.Line!).TrimEnd('\n');
    }

    [Fact]
    public async Task A_path_that_never_resolves_is_answered_at_its_deadline_and_the_next_request_is_served()
    {
        var dispatcher = StartDispatcher((path, cwd) =>
        {
            _mountAnswers.Wait();
            return Agent.Actors.Policy.RealPath.Resolve(path, cwd);
        });
        dispatcher.Tell(Request(1, "guest-file-open", PathArgument($"{_guest.Root}/on-a-hung-mount")));
        dispatcher.Tell(Request(2, "guest-ping", JsonObject.Empty));

        Assert.Equal(Error("guest-file-open did not finish within 300 ms (agent.dispatch.deadline); " +
                           "the agent went on with the next request", 1), await Reply(1));
        Assert.Equal("{\"return\": {}, \"id\": 2}", await Reply(2));

        // The check that comes back late has no request left to answer.
        _mountAnswers.Set();
        await ExpectNoMsgAsync(TimeSpan.FromMilliseconds(300));
        dispatcher.Tell(Request(3, "guest-ping", JsonObject.Empty));
        Assert.Equal("{\"return\": {}, \"id\": 3}", await Reply(3));
    }

    [Fact]
    public async Task A_check_made_aside_still_refuses_and_still_lets_an_allowed_open_run()
    {
        var dispatcher = StartDispatcher(Agent.Actors.Policy.RealPath.Resolve);
        var allowed = Path.Combine(_guest.Root, "allowed");
        File.WriteAllText(allowed, "x");
        dispatcher.Tell(Request(1, "guest-file-open", PathArgument("/etc/hostname")));
        dispatcher.Tell(Request(2, "guest-file-open", PathArgument(allowed)));

        Assert.Equal(Error("guest-file-open: reading '/etc/hostname' is not allowed by agent.policy.file.read", 1), await Reply(1));
        Assert.Matches("^\\{\"return\": [0-9]+, \"id\": 2\\}$", await Reply(2));
    }

    void IDisposable.Dispose()
    {
        _mountAnswers.Set();
        base.Dispose();
        _guest.Dispose();
    }
}
