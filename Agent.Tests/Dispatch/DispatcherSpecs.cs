using Agent.Actors;
using Agent.Actors.Commands;
using Agent.Protocol.Envelope;
using Agent.Protocol.Json;
using Agent.Protocol.Schema;
using Agent.Tests.Channel;
using Agent.Tests.Fakes;
using Agent.Tests.Commands.Power;
using Akka.Actor;
using Xunit.Abstractions;

namespace Agent.Tests.Dispatch;

/// <summary>
/// The one-reply contract through the whole tree (channel, dispatcher, families) over an in-memory
/// host: whatever a family does — throw, never answer, stop — its request gets exactly one error reply
/// and the agent answers the next request. Every family of <see cref="CommandCatalog"/> is played in
/// turn by a misbehaving stand-in that keeps the family's command names (so nothing real runs), and
/// every other family is real, over a fake guest.
/// </summary>
public sealed class DispatcherSpecs(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit("akka.loglevel = OFF", output: output), IDisposable
{
    private readonly FakeGuest _guest = new();

    public enum Misbehaviour { Throws, NeverAnswers, Stops }

    /// <summary>
    /// Throws or stays silent on its first Execute, or stops itself; later Executes are answered with
    /// the number of Executes seen, which proves a resumed family kept its state.
    /// </summary>
    private sealed class MisbehavingFamily(Misbehaviour how) : UntypedActor
    {
        private int _executes;

        protected override void OnReceive(object message)
        {
            if (message is not Execute e) return;
            if (++_executes > 1)
            {
                Sender.Tell(new CommandSucceeded(e.Seq, JsonObject.Of(("executes", new JsonInt(_executes)))));
                return;
            }
            switch (how)
            {
                case Misbehaviour.Throws: throw new InvalidOperationException("handler bug");
                case Misbehaviour.Stops: Context.Stop(Self); break;
                case Misbehaviour.NeverAnswers: break;
            }
        }
    }

    public static TheoryData<string, Misbehaviour> FamiliesAndMisbehaviours()
    {
        var data = new TheoryData<string, Misbehaviour>();
        foreach (var family in CommandCatalog.Families)
        foreach (var how in Enum.GetValues<Misbehaviour>())
            data.Add(family.Name, how);
        return data;
    }

    private InMemoryTransport StartAgent(IReadOnlyList<CommandFamily> families, string agentHocon = "") =>
        _guest.StartAgent(Sys, families, agentHocon);

    [Theory]
    [MemberData(nameof(FamiliesAndMisbehaviours))]
    public async Task Every_family_failure_ends_in_one_error_reply_and_the_agent_goes_on(string familyName, Misbehaviour how)
    {
        var misbehaving = CommandCatalog.Families.Single(f => f.Name == familyName);
        var families = CommandCatalog.Families
            .Select(f => f.Name != familyName ? f : f with { Props = _ => Props.Create(() => new MisbehavingFamily(how)) })
            .ToArray();
        var routes = CommandRoutes.Create(families);
        var command = routes.Registered.First(s => misbehaving.Commands.Contains(s.Name));
        var deadlines = string.Join("\n", misbehaving.Commands.Select(c => $"\"{c}\" = 300ms"));
        var host = StartAgent(families, $"dispatch {{ deadline = 300ms, abandon-grace = 200ms, deadlines {{ {deadlines} }} }}");
        var request = $"{{\"execute\":\"{command.Name}\",\"arguments\":{JsonWriter.ToJson(MinimalArguments(command))},\"id\":1}}";

        host.Send(request);
        var first = await host.ReadLineAsync();
        var expected = how switch
        {
            Misbehaviour.Throws => $"{command.Name} failed: internal error: handler bug",
            Misbehaviour.Stops => $"{command.Name} failed: internal error: its command family '{familyName}' has stopped",
            _ => $"{command.Name} did not finish within 300 ms (agent.dispatch.deadlines.{command.Name}); the agent went on with the next request",
        };
        Assert.Equal(Line(Replies.Error(QmpError.Generic(expected), new JsonInt(1))), first);

        // The same family again: resumed with its state (second Execute), or still stopped.
        host.Send(request.Replace("\"id\":1", "\"id\":2"));
        if (how == Misbehaviour.Stops)
            Assert.Contains("has stopped", await host.ReadLineAsync());
        else if (command.SuccessResponse)
            Assert.Equal((command.DelimitedReply ? "\u00FF" : "") + Line(Replies.Return(JsonObject.Of(("executes", new JsonInt(2))), new JsonInt(2))),
                await host.ReadLineAsync());

        // Another family answers.
        var probe = familyName == "info" ? "guest-get-timezone" : "guest-sync";
        host.Send($"{{\"execute\":\"{probe}\",\"arguments\":{(probe == "guest-sync" ? "{\"id\":3}" : "{}")},\"id\":3}}");
        var last = await host.ReadLineAsync();
        Assert.StartsWith("{\"return\": ", last);
        Assert.EndsWith("\"id\": 3}", last);
    }

    [Fact]
    public async Task Guest_info_lists_every_command_of_the_schema_in_reverse_order_each_with_its_family()
    {
        var schema = QgaSchema.Standard.With(ExtensionSchema.Commands).Commands;
        var routes = CommandRoutes.Create(CommandCatalog.Families);
        // Every command of the schema has a family: nothing is declared and left unrouted.
        Assert.Equal(schema.Select(c => c.Name), routes.Registered.Select(c => c.Name));

        var host = StartAgent(CommandCatalog.Families);
        host.Send("{\"execute\":\"guest-info\"}");
        var listed = System.Text.Json.JsonDocument.Parse(await host.ReadLineAsync()).RootElement
            .GetProperty("return").GetProperty("supported_commands").EnumerateArray()
            .Select(c => (c.GetProperty("name").GetString()!, c.GetProperty("enabled").GetBoolean(), c.GetProperty("success-response").GetBoolean()))
            .ToArray();
        Assert.Equal(schema.Reverse().Select(c => (c.Name, true, c.SuccessResponse)).ToArray(), listed);
    }

    /// <summary>
    /// Every integer and number argument of every command, extensions included, at the limits of its
    /// type, against the real families on a fake guest (freeze, fstrim and set-time on fakes of their
    /// ioctls and clock, so nothing reaches this machine). Each request gets its own well-formed reply
    /// and no handler fails unexpectedly (an "internal error" would be an exception that escaped).
    /// </summary>
    [Fact]
    public async Task Extreme_numbers_in_every_numeric_argument_get_a_proper_answer_each()
    {
        _guest.Proc("self/mountinfo", "22 1 254:1 / / rw - ext4 /dev/vda1 rw\n");
        var filesystems = new Agent.Tests.Fakes.FakeFilesystems();
        var families = CommandCatalog.Families.Select(f => f.Name switch
        {
            "fsfreeze" => f with { Props = ctx => Agent.Actors.Commands.Freeze.FreezeActor.Props(
                Agent.Actors.Commands.Freeze.FreezeContext.From(ctx) with { Filesystems = filesystems, Stats = new Agent.Tests.Fakes.FakeFilesystemStats() }) },
            "fstrim" => f with { Props = ctx => Agent.Actors.Commands.Freeze.FstrimActor.Props(ctx.Settings.Paths.Procfs, filesystems, new Agent.Tests.Fakes.FakeFilesystemStats()) },
            "set-time" => f with { Props = ctx => Agent.Actors.Commands.Time.SetTimeActor.Props(ctx.Settings.Helpers, ctx.Settings.Processes, new Agent.Tests.Commands.Time.FakeTimeSetter(), ctx.Reaper) },
            _ => f,
        }).ToArray();
        var host = StartAgent(families);
        var file = Path.Combine(_guest.Root, "numbers.txt");
        File.WriteAllText(file, "0123456789");
        host.Send($"{{\"execute\":\"guest-file-open\",\"arguments\":{{\"path\":\"{file}\",\"mode\":\"r+\"}}}}");
        var handle = long.Parse((await host.ReadLineAsync())[11..^1]);

        string[] integers = ["9223372036854775807", "-9223372036854775808", "-1", "0", "18446744073709551615", "1e308", "-1e308"];
        var requests = new List<string>();
        foreach (var command in CommandRoutes.Create(families).Registered)
        foreach (var member in command.Arguments.Where(m => m.Type is IntType or UInt64Type or NumberType))
        foreach (var value in integers)
        {
            var args = command.Arguments.Where(m => !m.Optional || m == member)
                .Select(m => $"\"{m.Name}\":{(m == member ? value : m.Name == "handle" ? handle.ToString() : JsonWriter.ToJson(ValueOf(m.Type)))}");
            // Freezes on the fake end thawed, so the next one is not refused for being frozen.
            requests.Add($"{{\"execute\":\"{command.Name}\",\"arguments\":{{{string.Join(",", args)}}},\"id\":{requests.Count}}}");
            if (command.Name.StartsWith("guest-fsfreeze-freeze")) requests.Add($"{{\"execute\":\"guest-fsfreeze-thaw\",\"id\":{requests.Count}}}");
        }
        Assert.True(requests.Count > 100, $"only {requests.Count} requests: the schema lost its numeric arguments?");
        host.Send(string.Concat(requests));

        for (var i = 0; i < requests.Count; i++)
        {
            var line = await host.ReadLineAsync(TimeSpan.FromSeconds(60));
            var reply = System.Text.Json.JsonDocument.Parse(line.TrimStart('\u00FF')).RootElement;
            Assert.Equal(i, reply.GetProperty("id").GetInt32());
            if (reply.TryGetProperty("error", out var error))
            {
                var desc = error.GetProperty("desc").GetString()!;
                Assert.False(desc.Contains("internal error") || desc.Contains("did not finish within"), $"{requests[i]} → {desc}");
            }
        }
    }

    /// <summary>
    /// One deadline timer serves a run of commands: armed by the first (a quick ping here), it finds the
    /// hung command behind it in flight and waits out that command's own deadline, whose key the error names.
    /// </summary>
    [Theory]
    [InlineData("300ms", "300 ms")]
    [InlineData("1500ms", "1.5 s")]
    public async Task A_command_that_hangs_after_quick_ones_is_abandoned_at_its_own_deadline(string deadline, string said)
    {
        var families = CommandCatalog.Families
            .Select(f => f.Name is not ("identity" or "network") ? f : f with { Props = _ => Props.Create(() => new MisbehavingFamily(Misbehaviour.NeverAnswers)) })
            .ToArray();
        var host = StartAgent(families,
            $"dispatch {{ deadline = 300ms, abandon-grace = 200ms, deadlines {{ \"guest-get-host-name\" = {deadline} }} }}");

        host.Send("{\"execute\":\"guest-ping\",\"id\":1}{\"execute\":\"guest-ping\",\"id\":2}{\"execute\":\"guest-get-host-name\",\"id\":3}{\"execute\":\"guest-ping\",\"id\":4}");
        Assert.Equal("{\"return\": {}, \"id\": 1}", await host.ReadLineAsync());
        Assert.Equal("{\"return\": {}, \"id\": 2}", await host.ReadLineAsync());
        Assert.Equal(Line(Replies.Error(QmpError.Generic($"guest-get-host-name did not finish within {said} " +
            "(agent.dispatch.deadlines.guest-get-host-name); the agent went on with the next request"), new JsonInt(3))),
            await host.ReadLineAsync());
        Assert.Equal("{\"return\": {}, \"id\": 4}", await host.ReadLineAsync());

        // Another hang right after, under the timer the ping before it armed: caught at the default deadline.
        host.Send("{\"execute\":\"guest-network-get-route\",\"id\":5}");
        Assert.Equal(Line(Replies.Error(QmpError.Generic("guest-network-get-route did not finish within 300 ms " +
            "(agent.dispatch.deadline); the agent went on with the next request"), new JsonInt(5))), await host.ReadLineAsync());
    }

    [Fact]
    public async Task A_hundred_thousand_pings_in_one_write_are_all_answered_in_order_without_errors()
    {
        var host = StartAgent(CommandCatalog.Families);
        var burst = string.Concat(Enumerable.Range(1, 100_000).Select(i => $"{{\"execute\":\"guest-ping\",\"id\":{i}}}"));
        host.Send(burst);
        // Generous waits: the point is that every reply comes, in order, not how fast on a loaded machine.
        for (var i = 1; i <= 100_000; i++)
            Assert.Equal($"{{\"return\": {{}}, \"id\": {i}}}", await host.ReadLineAsync(TimeSpan.FromSeconds(120)));
        Assert.True(await host.StaysSilentAsync(TimeSpan.FromMilliseconds(200)));
    }

    [Fact]
    public async Task A_host_that_stops_reading_large_replies_gets_every_one_in_order_when_it_reads_again()
    {
        var file = Path.Combine(_guest.Root, "large.bin");
        var content = new byte[2 << 20];
        new Random(7).NextBytes(content);
        File.WriteAllBytes(file, content);
        var host = StartAgent(CommandCatalog.Families, "channel { reply-budget = 256KiB, request-budget = 64KiB }");
        host.Send($"{{\"execute\":\"guest-file-open\",\"arguments\":{{\"path\":\"{file}\"}}}}");
        var handle = long.Parse((await host.ReadLineAsync())[11..^1]);

        host.StallWrites();
        const int reads = 32, chunk = 64 * 1024;
        host.Send(string.Concat(Enumerable.Range(0, reads).Select(i =>
            $"{{\"execute\":\"guest-file-read\",\"arguments\":{{\"handle\":{handle},\"count\":{chunk}}},\"id\":{i}}}")));
        // The budget fills: the agent stops reading input and starts no more reads.
        await AwaitConditionAsync(() => Task.FromResult(!host.Reading), TimeSpan.FromSeconds(10));

        host.ResumeWrites();
        for (var i = 0; i < reads; i++)
        {
            var reply = System.Text.Json.JsonDocument.Parse(await host.ReadLineAsync()).RootElement;
            Assert.Equal(i, reply.GetProperty("id").GetInt32());
            var data = Convert.FromBase64String(reply.GetProperty("return").GetProperty("buf-b64").GetString()!);
            Assert.Equal(content.AsSpan(i * chunk, chunk).ToArray(), data);
        }
        await AwaitConditionAsync(() => Task.FromResult(host.Reading), TimeSpan.FromSeconds(10));
    }

    private static string Line(JsonObject reply) => System.Text.Encoding.UTF8.GetString(Replies.Line(reply)).TrimEnd('\n');

    /// <summary>Arguments that pass the schema check: every required member with a value of its type.</summary>
    private static JsonObject MinimalArguments(CommandSchema command) =>
        JsonObject.Of(command.Arguments.Where(m => !m.Optional).Select(m => (m.Name, (JsonValue?)ValueOf(m.Type))).ToArray());

    private static JsonValue ValueOf(SchemaType type) => type switch
    {
        IntType or UInt64Type => new JsonInt(1),
        NumberType => new JsonDouble(1.5),
        BoolType => JsonBool.Of(true),
        StringType => new JsonString("x"),
        EnumType e => new JsonString(e.Values[0]),
        ArrayType => new JsonArray([]),
        StructType s => JsonObject.Of(s.Members.Where(m => !m.Optional).Select(m => (m.Name, (JsonValue?)ValueOf(m.Type))).ToArray()),
        AlternateType a => ValueOf(a.Branches[0]),
        _ => new JsonString("x"),
    };

    void IDisposable.Dispose()
    {
        base.Dispose();
        _guest.Dispose();
    }
}
