using Agent.Actors.Commands;
using Agent.Actors.Commands.Files;
using Agent.Protocol.Envelope;
using Agent.Protocol.Json;
using Agent.Tests.Commands;
using Akka.Actor;
using Xunit.Abstractions;

namespace Agent.Tests.Commands.Files;

/// <summary>guest-file-read within agent.channel.max-reply-bytes, and agent.files.max-open-handles.</summary>
public sealed class FileLimitSpecs(ITestOutputHelper output) : FamilySpec(output)
{
    private IActorRef Files(int maxOpenHandles = 256) =>
        Sys.ActorOf(FileHandlesActor.Props(Dir, FileHandlesActorSpecs.DefaultSettings with { MaxOpenHandles = maxOpenHandles }));

    private string PathOf(string name) => Path.Combine(Dir, name);

    private async Task<object> ReadWithin(IActorRef files, long handle, long count, long budget)
    {
        files.Tell(new Execute(4711, "guest-file-read", JsonObject.Of(("handle", I(handle)), ("count", I(count))), budget), TestActor);
        return await ExpectMsgAsync<object>(Patience);
    }

    [Fact]
    public async Task A_read_whose_reply_would_exceed_the_limit_reads_less_and_the_next_read_goes_on_from_there()
    {
        const long limit = 64 * 1024;
        var id = new JsonString("copy-1");
        var budget = Replies.ReturnBudget(limit, id);
        var content = new byte[300_000];
        new Random(7).NextBytes(content);
        await File.WriteAllBytesAsync(PathOf("big"), content);
        var files = Files();
        var handle = ((JsonInt)await Ok(files, "guest-file-open", ("path", S(PathOf("big"))))).Value;

        var read = new List<byte>();
        var replies = 0;
        while (true)
        {
            var reply = Assert.IsType<CommandSucceeded>(await ReadWithin(files, handle, FileHandlesActor.MaxReadCount, budget));
            var line = Replies.Line(Replies.Return(reply.Value, id));
            Assert.True(line.Length <= limit, $"a {line.Length}-byte line");
            var data = Convert.FromBase64String(Text(reply.Value, "buf-b64"));
            Assert.Equal(data.Length, Member(reply.Value, "count"));
            read.AddRange(data);
            replies++;
            if (data.Length == 0) break;
            if (!Flag(reply.Value, "eof")) Assert.InRange(line.Length, limit - 8, limit); // as much as fits
        }
        Assert.Equal(content, read);
        Assert.Equal(300_000 / (int)ReadReply.MaxBytes(budget) + 2, replies); // full reads, the short tail, the empty eof read

        // a count that fits is read as asked, and qemu's range check comes first
        await Ok(files, "guest-file-seek", ("handle", I(handle)), ("offset", I(0)), ("whence", I(0)));
        Assert.Equal(100, Member(Assert.IsType<CommandSucceeded>(await ReadWithin(files, handle, 100, budget)).Value, "count"));
        Assert.Equal("value '50331649' is invalid for argument count",
            Assert.IsType<CommandFailed>(await ReadWithin(files, handle, FileHandlesActor.MaxReadCount + 1, budget)).Error.Desc);
        // an id that leaves no room for even one byte
        Assert.Equal(ReadReply.NoRoom, Assert.IsType<CommandFailed>(await ReadWithin(files, handle, 10, 40)).Error.Desc);
        Assert.Equal(0, Member(Assert.IsType<CommandSucceeded>(await ReadWithin(files, handle, 0, 40)).Value, "count"));
    }

    [Fact]
    public async Task Opening_beyond_max_open_handles_is_refused_naming_the_setting_and_creates_nothing()
    {
        var files = Files(maxOpenHandles: 2);
        var first = ((JsonInt)await Ok(files, "guest-file-open", ("path", S(PathOf("a"))), ("mode", S("w")))).Value;
        await Ok(files, "guest-file-open", ("path", S(PathOf("b"))), ("mode", S("w")));
        Assert.Equal("too many open files: agent.files.max-open-handles (2) reached",
            await Fails(files, "guest-file-open", ("path", S(PathOf("c"))), ("mode", S("w"))));
        Assert.False(File.Exists(PathOf("c")));

        await Ok(files, "guest-file-close", ("handle", I(first)));
        var third = ((JsonInt)await Ok(files, "guest-file-open", ("path", S(PathOf("c"))), ("mode", S("w")))).Value;
        Assert.Equal(first + 2, third); // the refused open used no handle number
    }
}
