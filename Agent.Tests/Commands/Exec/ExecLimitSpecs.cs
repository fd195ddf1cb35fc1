using System.Text;
using Agent.Actors.Commands;
using Agent.Actors.Commands.Exec;
using Agent.Actors.Processes;
using Agent.Actors.Settings;
using Agent.Protocol.Schema;
using Agent.Protocol.Envelope;
using Agent.Protocol.Json;
using Akka.Actor;
using Akka.Configuration;
using Akka.TestKit;
using Xunit.Abstractions;

namespace Agent.Tests.Commands.Exec;

/// <summary>
/// The reply limit, the caps and the result expiry of the exec family, with real children under
/// virtual time: expiries fire only when a test advances the TestScheduler.
/// </summary>
public sealed class ExecLimitSpecs(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit("""
    akka.loglevel = WARNING
    akka.scheduler.implementation = "Akka.TestKit.TestScheduler, Akka.TestKit"
    """, output: output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private static readonly ExecSettings Defaults = AgentSettings.Create(ConfigurationFactory.ParseString("")).Exec;

    private TestScheduler Clock => (TestScheduler)Sys.Scheduler;
    private IActorRef? _reaper;
    private long _seq;

    private IActorRef Exec(ExecSettings settings)
    {
        _reaper ??= Sys.ActorOf(ReaperActor.Props(new ProcessSettings(TimeSpan.FromSeconds(1), 64 * 1024)));
        return Sys.ActorOf(ExecActor.Props(settings, _reaper));
    }

    private async Task<object> Run(IActorRef exec, string command, long budget, params (string, JsonValue?)[] args)
    {
        var seq = ++_seq;
        exec.Tell(new Execute(seq, command, JsonObject.Of(args), budget), TestActor);
        var answer = await ExpectMsgAsync<object>(Patience);
        Assert.Equal(seq, answer switch { CommandSucceeded s => s.Seq, CommandFailed f => f.Seq, _ => -1 });
        return answer;
    }

    private async Task<JsonObject> Ok(IActorRef exec, string command, params (string, JsonValue?)[] args) =>
        await OkWithin(exec, command, long.MaxValue, args);

    private async Task<JsonObject> OkWithin(IActorRef exec, string command, long budget, params (string, JsonValue?)[] args) =>
        await Run(exec, command, budget, args) switch
        {
            CommandSucceeded { Value: JsonObject value } => value,
            var other => throw new Xunit.Sdk.XunitException($"{command}: {other}"),
        };

    private async Task<string> Fails(IActorRef exec, string command, params (string, JsonValue?)[] args) =>
        await Run(exec, command, long.MaxValue, args) switch
        {
            CommandFailed { Error.Class: "GenericError" } f => f.Error.Desc,
            var other => throw new Xunit.Sdk.XunitException($"{command}: expected a GenericError, got {other}"),
        };

    private static JsonInt I(long value) => new(value);
    private static JsonString S(string value) => new(value);
    private static JsonArray Strings(params string[] values) => new(values.Select(v => (JsonValue)new JsonString(v)).ToArray());
    private static long Int(JsonObject o, string name) => ((JsonInt)o[name]!).Value;
    private static bool Flag(JsonObject o, string name) => ((JsonBool)o[name]!).Value;
    private static byte[] Bytes(JsonObject o, string name) => Convert.FromBase64String(((JsonString)o[name]!).Value);

    private async Task<long> Start(IActorRef exec, string script, bool keep = false, bool capture = true) =>
        Int(await Ok(exec, "guest-exec", ("path", S("sh")), ("arg", Strings("-c", script)),
            ("capture-output", JsonBool.Of(capture)), (ExecActor.KeepResultArgument, keep ? JsonBool.True : null)), "pid");

    /// <summary>guest-exec-status within <paramref name="budget"/> until exited:true.</summary>
    private async Task<JsonObject> Exited(IActorRef exec, long pid, long budget = long.MaxValue)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            var status = await OkWithin(exec, "guest-exec-status", budget, ("pid", I(pid)));
            if (Flag(status, "exited")) return status;
            Assert.True(DateTime.UtcNow < deadline, $"pid {pid} did not exit in {Patience}");
            await Task.Delay(20);
        }
    }

    /// <summary>Starts a command once max-running lets it, so every earlier command has ended.</summary>
    private async Task<long> StartWhenFree(IActorRef exec, string script)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            var answer = await Run(exec, "guest-exec", long.MaxValue, ("path", S("sh")), ("arg", Strings("-c", script)), ("capture-output", JsonBool.True));
            if (answer is CommandSucceeded { Value: JsonObject started }) return Int(started, "pid");
            Assert.StartsWith("too many running processes", ((CommandFailed)answer).Error.Desc);
            Assert.True(DateTime.UtcNow < deadline, "the earlier commands did not end");
            await Task.Delay(20);
        }
    }

    private static byte[] Seq(int from, int to, string sep = "\n") =>
        Encoding.ASCII.GetBytes(string.Concat(Enumerable.Range(from, to - from + 1).Select(i => i + sep)));

    /// <summary>The line a dispatcher would write for this return value and id.</summary>
    private static int LineLength(JsonValue value, JsonValue? id) => Replies.Line(Replies.Return(value, id)).Length;

    [Fact]
    public async Task Output_too_large_for_one_status_reply_is_cut_to_fit_and_the_rest_is_read_in_parts_exactly()
    {
        const long limit = 4096;
        var id = new JsonString("host-7");
        var budget = Replies.ReturnBudget(limit, id);
        var exec = Exec(Defaults);
        var pid = await Start(exec, "seq 1 3000; seq 1 2000 >&2");
        byte[] stdout = Seq(1, 3000), stderr = Seq(1, 2000);

        var status = await Exited(exec, pid, budget);
        Assert.True(LineLength(status, id) <= limit);
        Assert.InRange(LineLength(status, id), limit - 64, limit); // cut to fit, not to nothing
        Assert.Equal(0, Int(status, "exitcode"));
        Assert.True(Flag(status, "out-truncated"));
        Assert.True(Flag(status, "err-truncated"));
        var outPart = Bytes(status, "out-data");
        var errPart = Bytes(status, "err-data");
        Assert.NotEmpty(outPart);
        Assert.NotEmpty(errPart);
        Assert.Equal(stdout.Length - outPart.Length, Int(status, ExecActor.OutRemainingMember));
        Assert.Equal(stderr.Length - errPart.Length, Int(status, ExecActor.ErrRemainingMember));

        // a repeated status (the first reply may have been lost) is the same, and drops nothing
        Assert.Equal(status, await OkWithin(exec, "guest-exec-status", budget, ("pid", I(pid))));

        var outAll = new List<byte>(outPart);
        while (true)
        {
            var part = await OkWithin(exec, GuestExecReadOutputArguments.Command, budget,
                ("pid", I(pid)), ("stream", S("out")), ("offset", I(outAll.Count)), ("count", I(1000)));
            Assert.True(LineLength(part, id) <= limit);
            Assert.Equal(Int(part, "count"), Bytes(part, "buf-b64").Length);
            Assert.InRange(Int(part, "count"), 1, 1000);
            outAll.AddRange(Bytes(part, "buf-b64"));
            if (Flag(part, "eof")) break;
        }
        Assert.Equal(stdout, outAll);

        var errAll = new List<byte>(errPart);
        var reads = 0;
        while (true)
        {
            var part = await OkWithin(exec, GuestExecReadOutputArguments.Command, budget, ("pid", I(pid)), ("stream", S("err")), ("offset", I(errAll.Count)));
            Assert.True(LineLength(part, id) <= limit); // no count: as much as fits
            errAll.AddRange(Bytes(part, "buf-b64"));
            reads++;
            if (Flag(part, "eof")) break;
        }
        Assert.Equal(stderr, errAll);
        Assert.True(reads > 1);

        // everything has been read: the result goes, as qemu-ga drops it after the exited status
        Assert.Equal($"PID {pid} does not exist", await Fails(exec, "guest-exec-status", ("pid", I(pid))));
    }

    [Fact]
    public async Task Read_output_checks_its_arguments_and_a_result_is_kept_until_every_byte_was_sent()
    {
        var exec = Exec(Defaults);
        var running = await Start(exec, "sleep 100");
        Assert.Equal($"PID {running} has not exited yet",
            await Fails(exec, GuestExecReadOutputArguments.Command, ("pid", I(running)), ("stream", S("out")), ("offset", I(0))));
        await Ok(exec, GuestExecKillArguments.Command, ("pid", I(running)));
        await Exited(exec, running);

        var pid = await Start(exec, "printf 0123456789");
        var status = await Exited(exec, pid, budget: 1); // no room: exited, nothing sent yet
        Assert.Empty(Bytes(status, "out-data"));
        Assert.True(Flag(status, "out-truncated"));
        Assert.Equal(10, Int(status, ExecActor.OutRemainingMember));
        Assert.Equal(ReadReply.NoRoom, (await Run(exec, GuestExecReadOutputArguments.Command, 10, ("pid", I(pid)), ("stream", S("out")), ("offset", I(0))) as CommandFailed)!.Error.Desc);

        Assert.Equal("value '11' is invalid for argument offset",
            await Fails(exec, GuestExecReadOutputArguments.Command, ("pid", I(pid)), ("stream", S("out")), ("offset", I(11))));
        Assert.Equal("value '-1' is invalid for argument offset",
            await Fails(exec, GuestExecReadOutputArguments.Command, ("pid", I(pid)), ("stream", S("out")), ("offset", I(-1))));
        Assert.Equal("value '-2' is invalid for argument count",
            await Fails(exec, GuestExecReadOutputArguments.Command, ("pid", I(pid)), ("stream", S("out")), ("offset", I(0)), ("count", I(-2))));

        // a read that skips ahead does not count as sent: the bytes before it stay readable
        var tail = await Ok(exec, GuestExecReadOutputArguments.Command, ("pid", I(pid)), ("stream", S("out")), ("offset", I(5)));
        Assert.Equal("56789"u8.ToArray(), Bytes(tail, "buf-b64"));
        Assert.True(Flag(tail, "eof"));
        var empty = await Ok(exec, GuestExecReadOutputArguments.Command, ("pid", I(pid)), ("stream", S("err")), ("offset", I(0)));
        Assert.Equal(0, Int(empty, "count"));
        Assert.True(Flag(empty, "eof"));
        var head = await Ok(exec, GuestExecReadOutputArguments.Command, ("pid", I(pid)), ("stream", S("out")), ("offset", I(0)), ("count", I(5)));
        Assert.Equal("01234"u8.ToArray(), Bytes(head, "buf-b64"));
        Assert.False(Flag(head, "eof"));
        // 5..10 went out before 0..5 did, so it does not count yet: only a read from inside what was
        // sent moves the mark, and the result stays until the host has read on from there
        Assert.Equal(tail, await Ok(exec, GuestExecReadOutputArguments.Command, ("pid", I(pid)), ("stream", S("out")), ("offset", I(5))));
        Assert.Equal($"PID {pid} does not exist",
            await Fails(exec, GuestExecReadOutputArguments.Command, ("pid", I(pid)), ("stream", S("out")), ("offset", I(0))));
    }

    [Fact]
    public async Task A_status_that_fits_is_qemu_gas_reply_byte_for_byte()
    {
        var exec = Exec(Defaults);
        var pid = await Start(exec, "printf out; printf err >&2; exit 4");
        var status = await Exited(exec, pid, budget: Replies.ReturnBudget(10 * 1024 * 1024 - 1024, null));
        var head = JsonObject.Of(("exited", JsonBool.True), ("exitcode", I(4)), ("out-data", S("b3V0")), ("err-data", S("ZXJy")),
            ("out-truncated", JsonBool.False), ("err-truncated", JsonBool.False));
        Assert.Equal(JsonWriter.ToJson(head), JsonWriter.ToJson(status));
        Assert.Equal($"PID {pid} does not exist", await Fails(exec, "guest-exec-status", ("pid", I(pid))));
    }

    [Fact]
    public async Task Guest_exec_beyond_max_running_is_refused_naming_the_setting_until_one_ends()
    {
        var exec = Exec(Defaults with { MaxRunning = 2 });
        var first = await Start(exec, "sleep 100");
        var second = await Start(exec, "sleep 100");
        Assert.Equal("too many running processes: agent.exec.max-running (2) reached",
            await Fails(exec, "guest-exec", ("path", S("true"))));

        await Ok(exec, GuestExecKillArguments.Command, ("pid", I(first)));
        await Exited(exec, first);
        var third = await Start(exec, "true");
        await Exited(exec, third);
        await Ok(exec, GuestExecKillArguments.Command, ("pid", I(second)));
        await Exited(exec, second);
    }

    [Fact]
    public async Task Guest_exec_beyond_max_results_is_refused_until_a_result_goes()
    {
        var exec = Exec(Defaults with { MaxResults = 2 });
        var first = await Start(exec, "true", keep: true);
        var second = await Start(exec, "true", keep: true);
        await Exited(exec, first);
        await Exited(exec, second);
        Assert.Equal("too many retained results: agent.exec.max-results (2) reached",
            await Fails(exec, "guest-exec", ("path", S("true"))));

        await Ok(exec, GuestExecAckArguments.Command, ("pid", I(first)));
        await Exited(exec, await Start(exec, "true"));
    }

    [Fact]
    public async Task Guest_exec_is_refused_while_retained_results_hold_max_result_bytes()
    {
        var exec = Exec(Defaults with { MaxResultBytes = 1000 });
        var small = await Start(exec, "head -c 600 /dev/zero", keep: true);
        Assert.Equal(600, Bytes(await Exited(exec, small), "out-data").Length);
        var large = await Start(exec, "head -c 600 /dev/zero >&2", keep: true); // 1200 bytes held once it ends
        await Exited(exec, large);
        Assert.Equal("retained results too large: agent.exec.max-result-bytes (1000) reached",
            await Fails(exec, "guest-exec", ("path", S("true"))));

        await Ok(exec, GuestExecAckArguments.Command, ("pid", I(large)));
        await Exited(exec, await Start(exec, "true"));
    }

    [Fact]
    public async Task A_result_not_read_in_full_expires_after_unread_expiry_and_each_read_restarts_its_clock()
    {
        var expiry = TimeSpan.FromHours(1);
        var exec = Exec(Defaults with { MaxRunning = 1, UnreadExpiry = expiry });
        var touched = await Start(exec, "echo touched");
        var untouched = await StartWhenFree(exec, "echo untouched"); // `touched` has ended
        await StartWhenFree(exec, "true"); // `untouched` has ended

        Clock.Advance(expiry - TimeSpan.FromMinutes(1));
        var status = await OkWithin(exec, "guest-exec-status", 1, ("pid", I(touched))); // too small for its output
        Assert.True(Flag(status, "exited"));
        Assert.Equal(8, Int(status, ExecActor.OutRemainingMember));

        Clock.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal($"PID {untouched} does not exist", await Fails(exec, "guest-exec-status", ("pid", I(untouched))));
        var part = await Ok(exec, GuestExecReadOutputArguments.Command, ("pid", I(touched)), ("stream", S("out")), ("offset", I(0)), ("count", I(3)));
        Assert.Equal("tou"u8.ToArray(), Bytes(part, "buf-b64"));

        Clock.Advance(expiry - TimeSpan.FromSeconds(1));
        part = await Ok(exec, GuestExecReadOutputArguments.Command, ("pid", I(touched)), ("stream", S("out")), ("offset", I(3)), ("count", I(1)));
        Assert.Equal("c"u8.ToArray(), Bytes(part, "buf-b64"));

        Clock.Advance(expiry + TimeSpan.FromSeconds(1));
        Assert.Equal($"PID {touched} does not exist", await Fails(exec, "guest-exec-status", ("pid", I(touched))));
    }

    [Fact]
    public async Task A_kept_result_read_in_full_stays_for_status_retention_after_each_read()
    {
        var retention = TimeSpan.FromMinutes(10);
        var exec = Exec(Defaults with { StatusRetention = retention, UnreadExpiry = TimeSpan.FromHours(1) });
        var pid = await Start(exec, "echo kept", keep: true);
        var first = await Exited(exec, pid);

        Clock.Advance(retention - TimeSpan.FromSeconds(1));
        Assert.Equal(first, await Ok(exec, "guest-exec-status", ("pid", I(pid))));
        Clock.Advance(retention + TimeSpan.FromSeconds(1));
        Assert.Equal($"PID {pid} does not exist", await Fails(exec, "guest-exec-status", ("pid", I(pid))));
    }

    [Fact]
    public void Every_limit_comes_from_reference_conf_and_a_zero_limit_names_its_key()
    {
        Assert.Equal(new ExecSettings(16 * 1024 * 1024, TimeSpan.FromMinutes(10), 64, 4096, 128L * 1024 * 1024, TimeSpan.FromHours(1)), Defaults);
        var agent = AgentSettings.Create(ConfigurationFactory.ParseString(""));
        Assert.Equal(10 * 1024 * 1024 - 1024, agent.Channel.MaxReplyBytes);
        Assert.Equal(256, agent.Files.MaxOpenHandles);

        foreach (var (key, kind) in new[]
                 {
                     ("agent.channel.max-reply-bytes", "a size"), ("agent.files.max-open-handles", "a number"),
                     ("agent.exec.max-running", "a number"), ("agent.exec.max-results", "a number"),
                     ("agent.exec.max-result-bytes", "a size"), ("agent.exec.unread-expiry", "a duration"),
                 })
        {
            var error = Assert.Throws<ConfigurationException>(() => AgentSettings.Create(ConfigurationFactory.ParseString($"{key} = 0")));
            Assert.Equal($"{key} must be {kind} above zero", error.Message);
        }
    }
}
