using System.Text;
using Agent.Actors.Commands.Exec;
using Agent.Actors.Processes;
using Agent.Actors.Settings;
using Agent.Protocol.Schema;
using Agent.Protocol.Json;
using Agent.Tests.Commands;
using Agent.Tests.Processes;
using Akka.Actor;
using Xunit.Abstractions;

namespace Agent.Tests.Commands.Exec;

/// <summary>guest-exec / guest-exec-status against the actor with real children; expectations from test-qga and qemu-ga 7.2 (live).</summary>
public sealed class ExecActorSpecs(ITestOutputHelper output) : ExecSpecBase(output)
{
    private const string SeparatedLoop =
        "for i in $(seq 4); do if (( $i % 2 )); then echo stdout; else echo stderr 1>&2; fi; done;";

    [Fact]
    public async Task Test_qga_guest_exec_finds_echo_on_the_path_and_captures_its_output()
    {
        var exec = Exec();
        var started = await Ok(exec, "guest-exec", ("path", S("echo")),
            ("arg", Strings("-n", "\" test_str \"")), ("capture-output", JsonBool.True));
        var pid = Member(started, "pid");
        Assert.True(pid > 0);

        var status = await WaitExited(exec, pid);
        Assert.Equal(0, Member(status, "exitcode"));
        Assert.Equal("\" test_str \"", Decode(Text(status, "out-data")));
        Assert.False(Flag(status, "out-truncated"));
        Assert.Null(((JsonObject)status)["err-data"]);
    }

    [Fact]
    public async Task Test_qga_guest_exec_separated_keeps_the_streams_apart()
    {
        var exec = Exec();
        var pid = Member(await Ok(exec, "guest-exec", ("path", S("bash")), ("arg", Strings("-c", SeparatedLoop)),
            ("capture-output", S("separated"))), "pid");
        var status = await WaitExited(exec, pid);
        Assert.Equal(0, Member(status, "exitcode"));
        Assert.Equal("stdout\nstdout\n", Decode(Text(status, "out-data")));
        Assert.Equal("stderr\nstderr\n", Decode(Text(status, "err-data")));
    }

    [Fact]
    public async Task Test_qga_guest_exec_merged_interleaves_both_streams_in_out_data()
    {
        var exec = Exec();
        var pid = Member(await Ok(exec, "guest-exec", ("path", S("bash")), ("arg", Strings("-c", SeparatedLoop)),
            ("capture-output", S("merged"))), "pid");
        var status = (JsonObject)await WaitExited(exec, pid);
        Assert.Equal(0, Member(status, "exitcode"));
        Assert.Equal("stdout\nstderr\nstdout\nstderr\n", Decode(Text(status, "out-data")));
        Assert.Null(status["err-data"]);
        Assert.Null(status["err-truncated"]);
    }

    [Fact]
    public async Task Test_qga_guest_exec_invalid_gives_glibs_text_and_unknown_pids_name_the_pid()
    {
        var exec = Exec();
        Assert.Equal("Failed to execute child process “/bin/invalid-cmd42” (No such file or directory)",
            await Fails(exec, "guest-exec", ("path", S("/bin/invalid-cmd42"))));
        Assert.Equal("Failed to execute child process “invalid-cmd42” (No such file or directory)",
            await Fails(exec, "guest-exec", ("path", S("invalid-cmd42"))));
        Assert.Equal("Failed to execute child process “/etc/passwd” (Permission denied)",
            await Fails(exec, "guest-exec", ("path", S("/etc/passwd"))));
        Assert.Equal("PID 0 does not exist", await Fails(exec, "guest-exec-status", ("pid", I(0))));
        Assert.Equal("PID -5 does not exist", await Fails(exec, "guest-exec-status", ("pid", I(-5))));
    }

    [Fact]
    public async Task Exit_codes_and_signals_are_reported_apart_and_the_entry_goes_after_the_first_exited_read()
    {
        var exec = Exec();
        var pid = Member(await Ok(exec, "guest-exec", ("path", S("sh")), ("arg", Strings("-c", "exit 3"))), "pid");
        Assert.Equal(JsonObject.Of(("exited", JsonBool.True), ("exitcode", I(3))), await WaitExited(exec, pid));
        Assert.Equal($"PID {pid} does not exist", await Fails(exec, "guest-exec-status", ("pid", I(pid))));

        pid = Member(await Ok(exec, "guest-exec", ("path", S("sh")), ("arg", Strings("-c", "exit 137"))), "pid");
        Assert.Equal(JsonObject.Of(("exited", JsonBool.True), ("exitcode", I(137))), await WaitExited(exec, pid));

        pid = Member(await Ok(exec, "guest-exec", ("path", S("sh")), ("arg", Strings("-c", "kill -9 $$")),
            ("capture-output", JsonBool.True)), "pid");
        Assert.Equal(JsonObject.Of(("exited", JsonBool.True), ("signal", I(9))), await WaitExited(exec, pid));
    }

    [Fact]
    public async Task Both_streams_come_with_their_truncated_flags_as_debian_7_2_22_shows()
    {
        var exec = Exec();
        var pid = Member(await Ok(exec, "guest-exec", ("path", S("sh")),
            ("arg", Strings("-c", "echo out; echo err >&2; exit 3")), ("capture-output", JsonBool.True)), "pid");
        Assert.Equal(JsonObject.Of(
            ("exited", JsonBool.True), ("exitcode", I(3)),
            ("out-data", S("b3V0Cg==")), ("err-data", S("ZXJyCg==")),
            ("out-truncated", JsonBool.False), ("err-truncated", JsonBool.False)), await WaitExited(exec, pid));
    }

    [Fact]
    public async Task A_running_process_reports_only_exited_false()
    {
        var exec = Exec();
        var pid = Member(await Ok(exec, "guest-exec", ("path", S("sleep")), ("arg", Strings("30"))), "pid");
        Assert.Equal(JsonObject.Of(("exited", JsonBool.False)), await Ok(exec, "guest-exec-status", ("pid", I(pid))));
        Assert.Equal(JsonObject.Of(("exited", JsonBool.False)), await Ok(exec, "guest-exec-status", ("pid", I(pid))));
        await Ok(exec, GuestExecKillArguments.Command, ("pid", I(pid)));
        await WaitExited(exec, pid);
    }

    [Theory]
    [InlineData("stdout", "o\n", null)]
    [InlineData("stderr", null, "e\n")]
    [InlineData("none", null, null)]
    [InlineData("false", null, null)]
    [InlineData("absent", null, null)]
    public async Task Capture_modes_capture_only_what_they_name(string mode, string? stdout, string? stderr)
    {
        var exec = Exec();
        JsonValue? capture = mode switch { "false" => JsonBool.False, "absent" => null, _ => S(mode) };
        var pid = Member(await Ok(exec, "guest-exec", ("path", S("sh")), ("arg", Strings("-c", "echo o; echo e >&2")),
            ("capture-output", capture)), "pid");
        var status = (JsonObject)await WaitExited(exec, pid);
        Assert.Equal(stdout, status["out-data"] is JsonString o ? Decode(o.Value) : null);
        Assert.Equal(stderr, status["err-data"] is JsonString e ? Decode(e.Value) : null);
    }

    [Fact]
    public async Task Input_data_reaches_cat_through_stdin_and_is_decoded_leniently()
    {
        var exec = Exec();
        var pid = Member(await Ok(exec, "guest-exec", ("path", S("cat")), ("input-data", S("aGVsbG8gd29ybGQ=")),
            ("capture-output", JsonBool.True)), "pid");
        Assert.Equal("hello world", Decode(Text(await WaitExited(exec, pid), "out-data")));

        // qemu-ga 7.2, live: "aGVsbG8" (no padding) gives "hel"; "" gives an empty stdin
        pid = Member(await Ok(exec, "guest-exec", ("path", S("cat")), ("input-data", S("aGVsbG8")),
            ("capture-output", JsonBool.True)), "pid");
        Assert.Equal("hel", Decode(Text(await WaitExited(exec, pid), "out-data")));
        pid = Member(await Ok(exec, "guest-exec", ("path", S("cat")), ("input-data", S("")),
            ("capture-output", JsonBool.True)), "pid");
        Assert.Equal(JsonObject.Of(("exited", JsonBool.True), ("exitcode", I(0))), await WaitExited(exec, pid));

        Assert.Equal("Base64 data contains invalid characters",
            await Fails(exec, "guest-exec", ("path", S("cat")), ("input-data", S("aGVs*bG8"))));
    }

    [Fact]
    public async Task Without_input_data_stdin_is_dev_null_so_cat_ends_at_once()
    {
        var exec = Exec();
        var pid = Member(await Ok(exec, "guest-exec", ("path", S("cat")), ("capture-output", JsonBool.True)), "pid");
        Assert.Equal(JsonObject.Of(("exited", JsonBool.True), ("exitcode", I(0))), await WaitExited(exec, pid));
    }

    [Fact]
    public async Task Env_replaces_the_whole_environment_and_its_PATH_is_used_for_the_lookup()
    {
        var exec = Exec();
        var pid = Member(await Ok(exec, "guest-exec", ("path", S("env")), ("env", Strings("FOO=bar", "PATH=/usr/bin:/bin")),
            ("capture-output", JsonBool.True)), "pid");
        Assert.Equal("FOO=bar\nPATH=/usr/bin:/bin\n", Decode(Text(await WaitExited(exec, pid), "out-data")));

        Assert.Equal("Failed to execute child process “env” (No such file or directory)",
            await Fails(exec, "guest-exec", ("path", S("env")), ("env", Strings("PATH=/nonexistent"))));

        // no PATH in env: the program is still found (on the agent's PATH), and the child sees only FOO
        pid = Member(await Ok(exec, "guest-exec", ("path", S("sh")), ("arg", Strings("-c", "echo $FOO; echo ${HOME:-nohome}")),
            ("env", Strings("FOO=bar")), ("capture-output", JsonBool.True)), "pid");
        Assert.Equal("bar\nnohome\n", Decode(Text(await WaitExited(exec, pid), "out-data")));
    }

    [Fact]
    public async Task A_path_lookup_that_finds_only_non_executables_says_permission_denied()
    {
        var exec = Exec();
        Fakes.Scripts.WriteExecutable(Path.Combine(Dir, "tool"), "#!/bin/sh\n");
        File.SetUnixFileMode(Path.Combine(Dir, "tool"), UnixFileMode.UserRead | UnixFileMode.UserWrite);
        Assert.Equal("Failed to execute child process “tool” (Permission denied)",
            await Fails(exec, "guest-exec", ("path", S("tool")), ("env", Strings($"PATH=/nonexistent:{Dir}"))));

        File.SetUnixFileMode(Path.Combine(Dir, "tool"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var pid = Member(await Ok(exec, "guest-exec", ("path", S("tool")), ("env", Strings($"PATH=/nonexistent:{Dir}"))), "pid");
        Assert.Equal(0, Member(await WaitExited(exec, pid), "exitcode"));
    }

    [Fact]
    public async Task The_child_runs_in_the_agents_working_directory_unless_the_extension_names_one()
    {
        var exec = Exec();
        var pid = Member(await Ok(exec, "guest-exec", ("path", S("pwd")), ("capture-output", JsonBool.True)), "pid");
        Assert.Equal(Environment.CurrentDirectory + "\n", Decode(Text(await WaitExited(exec, pid), "out-data")));

        pid = Member(await Ok(exec, "guest-exec", ("path", S("pwd")), ("capture-output", JsonBool.True),
            (ExecActor.WorkingDirectoryArgument, S(Dir))), "pid");
        Assert.Equal(Dir + "\n", Decode(Text(await WaitExited(exec, pid), "out-data")));

        Assert.Equal($"Failed to change to directory “{Dir}/missing” (No such file or directory)",
            await Fails(exec, "guest-exec", ("path", S("pwd")), (ExecActor.WorkingDirectoryArgument, S(Dir + "/missing"))));
    }

    [Theory]
    [InlineData(16 * 1024 * 1024, false)]
    [InlineData(17_000_000, true)]
    public async Task Each_stream_keeps_exactly_16_MiB(int produced, bool truncated)
    {
        var exec = Exec();
        var pid = Member(await Ok(exec, "guest-exec", ("path", S("sh")),
            ("arg", Strings("-c", $"head -c {produced} /dev/zero; head -c {produced} /dev/zero | tr '\\0' x >&2")),
            ("capture-output", JsonBool.True)), "pid");
        var status = await WaitExited(exec, pid);
        var stdout = Convert.FromBase64String(Text(status, "out-data"));
        var stderr = Convert.FromBase64String(Text(status, "err-data"));
        Assert.Equal(16 * 1024 * 1024, stdout.Length);
        Assert.Equal(16 * 1024 * 1024, stderr.Length);
        Assert.True(stdout.All(b => b == 0));
        Assert.True(stderr.All(b => b == (byte)'x'));
        Assert.Equal(truncated, Flag(status, "out-truncated"));
        Assert.Equal(truncated, Flag(status, "err-truncated"));
    }

    [Fact]
    public async Task The_timeout_extension_kills_the_process_group_grandchildren_included()
    {
        var exec = Exec();
        var pid = Member(await Ok(exec, "guest-exec", ("path", S("sh")), ("arg", Strings("-c", "sleep 100 & echo $!; sleep 100")),
            ("capture-output", S("stdout")), (ExecActor.TimeoutArgument, new JsonDouble(0.5))), "pid");
        var status = (JsonObject)await WaitExited(exec, pid);
        Assert.Equal(9, Member(status, "signal"));
        Assert.Null(status["exitcode"]);
        Assert.True(Flag(status, ExecActor.TimedOutMember));
        var grandchild = int.Parse(Decode(Text(status, "out-data")).Trim());
        Assert.False(ProcFs.IsAlive(grandchild));

        Assert.Equal($"value '0' is invalid for argument {ExecActor.TimeoutArgument}",
            await Fails(exec, "guest-exec", ("path", S("true")), (ExecActor.TimeoutArgument, I(0))));
        pid = Member(await Ok(exec, "guest-exec", ("path", S("true")), (ExecActor.TimeoutArgument, I(30))), "pid");
        Assert.Equal(JsonObject.Of(("exited", JsonBool.True), ("exitcode", I(0))), await WaitExited(exec, pid));
    }

    [Fact]
    public async Task The_kill_extension_signals_the_group_and_refuses_finished_or_unknown_pids()
    {
        var exec = Exec();
        var pid = Member(await Ok(exec, "guest-exec", ("path", S("sh")), ("arg", Strings("-c", "sleep 100 & sleep 100"))), "pid");
        Assert.Equal(JsonObject.Empty, await Ok(exec, GuestExecKillArguments.Command, ("pid", I(pid)), ("signal", I(15))));
        Assert.Equal(JsonObject.Of(("exited", JsonBool.True), ("signal", I(15))), await WaitExited(exec, pid));
        Assert.Equal($"PID {pid} does not exist", await Fails(exec, GuestExecKillArguments.Command, ("pid", I(pid))));

        pid = Member(await Ok(exec, "guest-exec", ("path", S("true"))), "pid");
        await AwaitAssertAsync(async () =>
            Assert.Equal($"PID {pid} has already exited", await Fails(exec, GuestExecKillArguments.Command, ("pid", I(pid)))), Patience);

        pid = Member(await Ok(exec, "guest-exec", ("path", S("sleep")), ("arg", Strings("100"))), "pid");
        Assert.Equal("value '99' is invalid for argument signal", await Fails(exec, GuestExecKillArguments.Command, ("pid", I(pid)), ("signal", I(99))));
        await Ok(exec, GuestExecKillArguments.Command, ("pid", I(pid)));
        var killed = (JsonObject)await WaitExited(exec, pid);
        Assert.Equal(9, Member(killed, "signal"));
        Assert.Null(killed[ExecActor.TimedOutMember]);
    }

    [Fact]
    public async Task Kill_after_the_leader_exited_still_reaches_its_group_because_the_leader_is_held_unreaped()
    {
        var exec = Exec();
        var pid = (int)Member(await Ok(exec, "guest-exec", ("path", S("sh")), ("arg", Strings("-c", "sleep 100 & exit 3")),
            ("capture-output", JsonBool.True)), "pid");
        // The leader is gone but its child holds stdout: no result yet, and the leader stays a zombie,
        // so neither its pid nor its group id can be handed to another process.
        await AwaitAssertAsync(() => Assert.Contains(pid, ProcFs.ZombieChildren()), Patience);
        Assert.Equal(JsonObject.Of(("exited", JsonBool.False)), await Ok(exec, "guest-exec-status", ("pid", I(pid))));

        Assert.Equal(JsonObject.Empty, await Ok(exec, GuestExecKillArguments.Command, ("pid", I(pid)), ("signal", I(15))));
        Assert.Equal(3, Member(await WaitExited(exec, pid), "exitcode"));
        await AwaitAssertAsync(() => Assert.Null(ProcFs.Stat(pid)), Patience);
        Assert.Equal($"PID {pid} does not exist", await Fails(exec, GuestExecKillArguments.Command, ("pid", I(pid))));
    }

    [Fact]
    public async Task Keep_result_survives_repeated_reads_until_acknowledged()
    {
        var exec = Exec();
        var pid = Member(await Ok(exec, "guest-exec", ("path", S("sh")), ("arg", Strings("-c", "echo kept")),
            ("capture-output", JsonBool.True), (ExecActor.KeepResultArgument, JsonBool.True)), "pid");
        var first = await WaitExited(exec, pid);
        Assert.Equal("kept\n", Decode(Text(first, "out-data")));
        Assert.Equal(first, await Ok(exec, "guest-exec-status", ("pid", I(pid))));
        Assert.Equal(JsonObject.Empty, await Ok(exec, GuestExecAckArguments.Command, ("pid", I(pid))));
        Assert.Equal($"PID {pid} does not exist", await Fails(exec, "guest-exec-status", ("pid", I(pid))));
        Assert.Equal($"PID {pid} does not exist", await Fails(exec, GuestExecAckArguments.Command, ("pid", I(pid))));

        pid = Member(await Ok(exec, "guest-exec", ("path", S("sleep")), ("arg", Strings("100")),
            (ExecActor.KeepResultArgument, JsonBool.True)), "pid");
        Assert.Equal($"PID {pid} has not exited yet", await Fails(exec, GuestExecAckArguments.Command, ("pid", I(pid))));
        await Ok(exec, GuestExecKillArguments.Command, ("pid", I(pid)));
        await WaitExited(exec, pid); // reaped before the test's actor system (and its reaper) goes away
    }

    [Fact]
    public async Task A_kept_result_expires_after_the_retention_period()
    {
        var exec = Exec(DefaultSettings with { StatusRetention = TimeSpan.FromMilliseconds(300) });
        var pid = Member(await Ok(exec, "guest-exec", ("path", S("true")), (ExecActor.KeepResultArgument, JsonBool.True)), "pid");
        await WaitExited(exec, pid);
        // Each status read of a kept result starts its retention over, so polls come less often than it.
        await AwaitAssertAsync(async () =>
            Assert.Equal($"PID {pid} does not exist", await Fails(exec, "guest-exec-status", ("pid", I(pid)))),
            Patience, TimeSpan.FromSeconds(1));
    }

    [Fact]
    public async Task Stopping_the_exec_actor_kills_running_children_and_leaves_no_zombie()
    {
        var exec = Exec();
        var pid = (int)Member(await Ok(exec, "guest-exec", ("path", S("sh")), ("arg", Strings("-c", "sleep 100 & sleep 100"))), "pid");
        Assert.True(ProcFs.IsAlive(pid));
        Watch(exec);
        Sys.Stop(exec);
        await ExpectTerminatedAsync(exec, Patience);
        await AwaitAssertAsync(() => Assert.Null(ProcFs.Stat(pid)), Patience);
    }
}

/// <summary>An exec actor with its own reaper, and the polling test-qga does.</summary>
public abstract class ExecSpecBase(ITestOutputHelper output) : FamilySpec(output)
{
    /// <summary>agent.exec from reference.conf.</summary>
    protected static readonly ExecSettings DefaultSettings = AgentSettings.Create(Akka.Configuration.ConfigurationFactory.ParseString("")).Exec;

    private IActorRef? _reaper;

    protected IActorRef Exec(ExecSettings? settings = null)
    {
        _reaper ??= Sys.ActorOf(ReaperActor.Props(new ProcessSettings(TimeSpan.FromSeconds(1), 64 * 1024)));
        return Sys.ActorOf(ExecActor.Props(settings ?? DefaultSettings, _reaper));
    }

    protected static JsonArray Strings(params string[] values) => new(values.Select(v => (JsonValue)new JsonString(v)).ToArray());

    protected static string Decode(string base64) => Encoding.UTF8.GetString(Convert.FromBase64String(base64));

    /// <summary>Polls guest-exec-status until exited:true, as test-qga does (with more patience).</summary>
    protected async Task<JsonValue> WaitExited(IActorRef exec, long pid)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            var status = await Ok(exec, "guest-exec-status", ("pid", I(pid)));
            if (Flag(status, "exited")) return status;
            Assert.True(DateTime.UtcNow < deadline, $"pid {pid} did not exit in {Patience}");
            await Task.Delay(20);
        }
    }
}
