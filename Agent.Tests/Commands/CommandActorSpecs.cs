using Agent.Actors.Commands;
using Agent.Protocol.Envelope;
using Agent.Protocol.Json;
using Agent.Protocol.Schema;
using Akka.Actor;
using Xunit.Abstractions;

namespace Agent.Tests.Commands;

/// <summary>The family base: typed handlers, the not-found reply, failures and Abandon, written once.</summary>
public sealed class CommandActorSpecs(ITestOutputHelper output) : FamilySpec(output)
{
    private sealed class SampleFamily : CommandActor
    {
        private IActorRef? _waiting;
        private long _waitingSeq;

        public SampleFamily()
        {
            Handle<GuestSyncArguments>(a => new JsonInt(a.Id * 2));
            Handle<GuestPingArguments>(_ => throw new IOException("disk on fire"));
            HandleAsync<GuestSshGetAuthorizedKeysArguments>(a => Task.FromResult<JsonValue>(new JsonString(a.Username)));
            HandleBounded<GuestFileReadArguments>((a, budget) => new JsonInt(Math.Min(a.Count ?? 0, budget)));
            HandleLater<GuestSetTimeArguments>((e, a) =>
            {
                if (a.Time is null) throw new CommandException("no time given");
                (_waiting, _waitingSeq) = (Sender, e.Seq);
            });
        }

        protected override void OnMessage(object message)
        {
            if (message is "answer") _waiting!.Tell(new CommandSucceeded(_waitingSeq, JsonObject.Empty));
            else Unhandled(message);
        }
    }

    private IActorRef Family() => Sys.ActorOf(Props.Create(() => new SampleFamily()));

    [Fact]
    public async Task A_handler_reads_its_typed_record()
    {
        var family = Family();
        Assert.Equal(new JsonInt(14), await Ok(family, "guest-sync", ("id", I(7))));
        Assert.Equal(S("root"), await Ok(family, "guest-ssh-get-authorized-keys", ("username", S("root"))));
    }

    [Fact]
    public async Task A_bounded_handler_is_given_the_reply_budget()
    {
        var family = Family();
        family.Tell(new Execute(1, "guest-file-read", JsonObject.Of(("handle", I(1)), ("count", I(4096))), ReturnBudget: 100), TestActor);
        Assert.Equal(new CommandSucceeded(1, new JsonInt(100)), await ExpectMsgAsync<CommandSucceeded>(Patience));
    }

    [Fact]
    public async Task An_unregistered_command_gets_qemus_not_found_error()
    {
        var family = Family();
        family.Tell(new Execute(5, "guest-get-disks", JsonObject.Empty), TestActor);
        var failed = await ExpectMsgAsync<CommandFailed>(Patience);
        Assert.Equal((5L, "CommandNotFound", "The command guest-get-disks has not been found"), (failed.Seq, failed.Error.Class, failed.Error.Desc));
    }

    [Fact]
    public async Task An_immediate_handler_that_throws_fails_its_command_with_the_message()
    {
        Assert.Equal("disk on fire", await Fails(Family(), "guest-ping"));
    }

    [Fact]
    public async Task A_later_handler_fails_by_CommandException_or_answers_itself_afterwards()
    {
        var family = Family();
        Assert.Equal("no time given", await Fails(family, "guest-set-time"));

        family.Tell(new Execute(9, "guest-set-time", JsonObject.Of(("time", I(1)))), TestActor);
        await ExpectNoMsgAsync(TimeSpan.FromMilliseconds(100));
        family.Tell("answer");
        Assert.Equal(9, (await ExpectMsgAsync<CommandSucceeded>(Patience)).Seq);
    }

    [Fact]
    public async Task Abandon_is_answered_at_once_with_the_dispatchers_error()
    {
        var family = Family();
        var error = QmpError.Generic("guest-set-time did not finish within 1 s");
        family.Tell(new Execute(3, "guest-set-time", JsonObject.Of(("time", I(1)))), TestActor);
        family.Tell(new Abandon(3, error), TestActor);
        Assert.Equal(new CommandFailed(3, error), await ExpectMsgAsync<CommandFailed>(Patience));
    }
}
