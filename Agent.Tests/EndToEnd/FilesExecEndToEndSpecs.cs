using System.Runtime.InteropServices;
using System.Text;
using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Agent.Tests.EndToEnd;

/// <summary>
/// guest-file-* and guest-exec on the built Agent.Host over a unix socket (cwd and state dir in a
/// temp folder, as test-qga runs qemu-ga), and the same requests against Debian's qemu-ga: the reply
/// lines must be byte-identical, after normalising pids and the texts where 7.2 differs from HEAD.
/// </summary>
public sealed partial class FilesExecEndToEndSpecs
{
    private const string Hello = "SGVsbG8gV29ybGQhCgA="; // "Hello World!\n\0", test-qga's 14 bytes

    /// <summary>test-qga's /qga/file-ops and /qga/file-write-read, then modes, append, eof, errors; relative paths only.</summary>
    private static readonly string[] FileSession =
    [
        "{\"execute\":\"guest-file-open\",\"arguments\":{\"path\":\"foo\",\"mode\":\"w+\"}}",
        $"{{\"execute\":\"guest-file-write\",\"arguments\":{{\"handle\":1000,\"buf-b64\":\"{Hello}\"}}}}",
        "{\"execute\":\"guest-file-flush\",\"arguments\":{\"handle\":1000}}",
        "{\"execute\":\"guest-file-close\",\"arguments\":{\"handle\":1000}}",
        "{\"execute\":\"guest-file-open\",\"arguments\":{\"path\":\"foo\",\"mode\":\"r\"}}",
        "{\"execute\":\"guest-file-read\",\"arguments\":{\"handle\":1001}}",
        "{\"execute\":\"guest-file-read\",\"arguments\":{\"handle\":1001}}",
        "{\"execute\":\"guest-file-seek\",\"arguments\":{\"handle\":1001,\"offset\":6,\"whence\":\"set\"}}",
        "{\"execute\":\"guest-file-read\",\"arguments\":{\"handle\":1001}}",
        "{\"execute\":\"guest-file-close\",\"arguments\":{\"handle\":1001}}",
        "{\"execute\":\"guest-file-open\",\"arguments\":{\"path\":\"foo\",\"mode\":\"w+\"}}",
        $"{{\"execute\":\"guest-file-write\",\"arguments\":{{\"handle\":1002,\"buf-b64\":\"{Hello}\"}}}}",
        "{\"execute\":\"guest-file-read\",\"arguments\":{\"handle\":1002}}",
        "{\"execute\":\"guest-file-seek\",\"arguments\":{\"handle\":1002,\"offset\":0,\"whence\":\"set\"}}",
        "{\"execute\":\"guest-file-read\",\"arguments\":{\"handle\":1002,\"count\":14}}",
        "{\"execute\":\"guest-file-read\",\"arguments\":{\"handle\":1002,\"count\":14}}",
        "{\"execute\":\"guest-file-close\",\"arguments\":{\"handle\":1002}}",
        "{\"execute\":\"guest-file-open\",\"arguments\":{\"path\":\"foo\",\"mode\":\"rw\"}}",
        "{\"execute\":\"guest-file-open\",\"arguments\":{\"path\":\"nope/x\"}}",
        "{\"execute\":\"guest-file-open\",\"arguments\":{\"path\":\".\",\"mode\":\"w\"}}",
        "{\"execute\":\"guest-file-open\",\"arguments\":{\"path\":\".\"}}",
        "{\"execute\":\"guest-file-read\",\"arguments\":{\"handle\":1003}}",
        "{\"execute\":\"guest-file-close\",\"arguments\":{\"handle\":1003}}",
        "{\"execute\":\"guest-file-open\",\"arguments\":{\"path\":\"foo\",\"mode\":\"rb\"}}",
        "{\"execute\":\"guest-file-write\",\"arguments\":{\"handle\":1004,\"buf-b64\":\"eHl6\"}}",
        "{\"execute\":\"guest-file-read\",\"arguments\":{\"handle\":1004,\"count\":-1}}",
        "{\"execute\":\"guest-file-read\",\"arguments\":{\"handle\":1004,\"count\":50331649}}",
        "{\"execute\":\"guest-file-read\",\"arguments\":{\"handle\":1004,\"count\":0}}",
        "{\"execute\":\"guest-file-seek\",\"arguments\":{\"handle\":1004,\"offset\":3,\"whence\":7}}",
        "{\"execute\":\"guest-file-seek\",\"arguments\":{\"handle\":1004,\"offset\":-1,\"whence\":0}}",
        "{\"execute\":\"guest-file-seek\",\"arguments\":{\"handle\":1004,\"offset\":-2,\"whence\":\"end\"}}",
        "{\"execute\":\"guest-file-read\",\"arguments\":{\"handle\":1004,\"count\":100}}",
        "{\"execute\":\"guest-file-write\",\"arguments\":{\"handle\":1004,\"buf-b64\":\"SGV*sbG8\"}}",
        "{\"execute\":\"guest-file-close\",\"arguments\":{\"handle\":1004}}",
        "{\"execute\":\"guest-file-close\",\"arguments\":{\"handle\":1004}}",
        "{\"execute\":\"guest-file-open\",\"arguments\":{\"path\":\"foo\",\"mode\":\"a+\"}}",
        "{\"execute\":\"guest-file-read\",\"arguments\":{\"handle\":1005,\"count\":2}}",
        "{\"execute\":\"guest-file-write\",\"arguments\":{\"handle\":1005,\"buf-b64\":\"eHl6\"}}",
        "{\"execute\":\"guest-file-read\",\"arguments\":{\"handle\":1005,\"count\":2}}",
        "{\"execute\":\"guest-file-seek\",\"arguments\":{\"handle\":1005,\"offset\":1,\"whence\":0}}",
        "{\"execute\":\"guest-file-write\",\"arguments\":{\"handle\":1005,\"buf-b64\":\"MTIz\"}}",
        "{\"execute\":\"guest-file-seek\",\"arguments\":{\"handle\":1005,\"offset\":0,\"whence\":\"cur\"}}",
        "{\"execute\":\"guest-file-close\",\"arguments\":{\"handle\":1005}}",
        "{\"execute\":\"guest-file-open\",\"arguments\":{\"path\":\"foo\",\"mode\":\"r+b\"}}",
        "{\"execute\":\"guest-file-read\",\"arguments\":{\"handle\":1006,\"count\":2}}",
        "{\"execute\":\"guest-file-write\",\"arguments\":{\"handle\":1006,\"buf-b64\":\"QUI=\"}}",
        "{\"execute\":\"guest-file-seek\",\"arguments\":{\"handle\":1006,\"offset\":0,\"whence\":1}}",
        "{\"execute\":\"guest-file-seek\",\"arguments\":{\"handle\":1006,\"offset\":-3,\"whence\":2}}",
        "{\"execute\":\"guest-file-read\",\"arguments\":{\"handle\":1006}}",
        "{\"execute\":\"guest-file-close\",\"arguments\":{\"handle\":1006}}",
        "{\"execute\":\"guest-file-open\",\"arguments\":{\"path\":\"baz\",\"mode\":\"ab\"}}",
        "{\"execute\":\"guest-file-write\",\"arguments\":{\"handle\":1007,\"buf-b64\":\"SGVsbG8\"}}",
        "{\"execute\":\"guest-file-write\",\"arguments\":{\"handle\":1007,\"buf-b64\":\"AA\"}}",
        "{\"execute\":\"guest-file-write\",\"arguments\":{\"handle\":1007,\"buf-b64\":\"AA\\nAA\",\"count\":2}}",
        "{\"execute\":\"guest-file-write\",\"arguments\":{\"handle\":1007,\"buf-b64\":\"AAAA\",\"count\":4}}",
        "{\"execute\":\"guest-file-read\",\"arguments\":{\"handle\":1007}}",
        "{\"execute\":\"guest-file-flush\",\"arguments\":{\"handle\":1007}}",
        "{\"execute\":\"guest-file-close\",\"arguments\":{\"handle\":1007}}",
    ];

    [Fact]
    public async Task File_sessions_reply_byte_identically_to_qemu_ga_and_leave_the_same_files()
    {
        await using var theirs = await AgentProcess.StartQemuGaAsync();
        await using var ours = await AgentProcess.StartOursAsync();
        foreach (var request in FileSession)
            Assert.Equal(await theirs.RoundTripAsync(request), await ours.RoundTripAsync(request));

        foreach (var name in new[] { "foo", "baz", "qga.state" })
            Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(theirs.Dir, name)), await File.ReadAllBytesAsync(Path.Combine(ours.Dir, name)));
        Assert.Equal("[global]\nfd_counter=1008\n", await File.ReadAllTextAsync(Path.Combine(ours.Dir, "qga.state")));
        Assert.Equal(File.GetUnixFileMode(Path.Combine(theirs.Dir, "baz")), File.GetUnixFileMode(Path.Combine(ours.Dir, "baz")));
        Assert.Equal(0, await ours.TerminateAsync());
    }

    [Fact]
    public async Task A_NUL_in_a_path_or_an_argument_never_cuts_it_short_and_reaches_the_OS_as_qemu_ga_passes_it()
    {
        await using var theirs = await AgentProcess.StartQemuGaAsync();
        await using var ours = await AgentProcess.StartOursAsync();
        foreach (var agent in new[] { theirs, ours }) await File.WriteAllTextAsync(Path.Combine(agent.Dir, "X"), "keep");

        const string open = "{\"execute\":\"guest-file-open\",\"arguments\":{\"path\":\"X\\u0000.log\",\"mode\":\"w\"}}";
        Assert.Equal(await theirs.RoundTripAsync(open), await ours.RoundTripAsync(open));
        const string exec = "{\"execute\":\"guest-exec\",\"arguments\":{\"path\":\"sh\",\"arg\":[\"-c\",\"printf %s \\\"$0\\\"\",\"a\\u0000b\"],\"capture-output\":true}}";
        var transcript = await ExecTranscript(ours, exec);
        Assert.Equal(await ExecTranscript(theirs, exec), transcript);

        // qemu's parser keeps U+0000 as the bytes C0 80 (modified UTF-8): a file "X<C0 80>.log", never "X".
        foreach (var agent in new[] { theirs, ours })
        {
            Assert.Equal("keep", await File.ReadAllTextAsync(Path.Combine(agent.Dir, "X")));
            Assert.Equal(0, Access([.. Encoding.UTF8.GetBytes(agent.Dir + "/X"), 0xC0, 0x80, .. ".log\0"u8]));
        }
        Assert.Contains("\"out-data\": \"YcCAYg==\"", transcript); // a C0 80 b
        Assert.Equal(0, await ours.TerminateAsync());
    }

    [LibraryImport("libc", EntryPoint = "access")]
    private static partial int Access(byte[] path, int mode = 0);

    /// <summary>Harmless commands; capture-output stays a bool, the only form 7.2 takes.</summary>
    private static readonly string[] ExecRequests =
    [
        "{\"execute\":\"guest-exec\",\"arguments\":{\"path\":\"sh\",\"arg\":[\"-c\",\"echo out; echo err >&2; exit 3\"],\"capture-output\":true}}",
        "{\"execute\":\"guest-exec\",\"arguments\":{\"path\":\"sh\",\"arg\":[\"-c\",\"kill -9 $$\"]}}",
        "{\"execute\":\"guest-exec\",\"arguments\":{\"path\":\"sh\",\"arg\":[\"-c\",\"echo only-err >&2\"],\"capture-output\":true}}",
        "{\"execute\":\"guest-exec\",\"arguments\":{\"path\":\"cat\",\"input-data\":\"aGVsbG8\",\"capture-output\":true}}",
        "{\"execute\":\"guest-exec\",\"arguments\":{\"path\":\"cat\",\"input-data\":\"\",\"capture-output\":true}}",
        "{\"execute\":\"guest-exec\",\"arguments\":{\"path\":\"cat\",\"capture-output\":true}}",
        "{\"execute\":\"guest-exec\",\"arguments\":{\"path\":\"env\",\"env\":[\"FOO=bar\",\"PATH=/usr/bin:/bin\"],\"capture-output\":true}}",
        "{\"execute\":\"guest-exec\",\"arguments\":{\"path\":\"/bin/echo\",\"arg\":[\"-n\",\"\\\" test_str \\\"\"],\"capture-output\":false}}",
        "{\"execute\":\"guest-exec\",\"arguments\":{\"path\":\"/bin/invalid-cmd42\"}}",
        "{\"execute\":\"guest-exec\",\"arguments\":{\"path\":\"invalid-cmd42\"}}",
        "{\"execute\":\"guest-exec\",\"arguments\":{\"path\":\"/etc/passwd\"}}",
        "{\"execute\":\"guest-exec\",\"arguments\":{\"path\":\"env\",\"env\":[\"PATH=/nonexistent\"]}}",
        "{\"execute\":\"guest-exec\",\"arguments\":{\"path\":\"cat\",\"input-data\":\"aGVs*bG8\"}}",
        "{\"execute\":\"guest-exec-status\",\"arguments\":{\"pid\":0}}",
    ];

    [Fact]
    public async Task Exec_replies_match_qemu_ga_after_normalising_pids_and_the_7_2_texts()
    {
        await using var theirs = await AgentProcess.StartQemuGaAsync();
        await using var ours = await AgentProcess.StartOursAsync();
        foreach (var request in ExecRequests)
            Assert.Equal(await ExecTranscript(theirs, request), await ExecTranscript(ours, request));
        Assert.Equal(0, await ours.TerminateAsync());
    }

    /// <summary>The reply to one request; for a started process also its final status and the status after it.</summary>
    private static async Task<string> ExecTranscript(AgentProcess agent, string request)
    {
        var reply = await agent.RoundTripAsync(request);
        var transcript = Normalise(reply);
        var pid = PidMember().Match(reply);
        if (!pid.Success) return transcript;
        var status = $"{{\"execute\":\"guest-exec-status\",\"arguments\":{{\"pid\":{pid.Groups[1].Value}}}}}";
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        string line;
        while ((line = await agent.RoundTripAsync(status)) == "{\"return\": {\"exited\": false}}")
        {
            Assert.True(DateTime.UtcNow < deadline, $"{request} did not exit");
            await Task.Delay(10);
        }
        return $"{transcript}\n{Normalise(line)}\n{Normalise(await agent.RoundTripAsync(status))}";
    }

    /// <summary>Pids differ between runs; 7.2 wraps glib's spawn error and says "Invalid parameter 'pid'" (7.2, not HEAD).</summary>
    private static string Normalise(string line)
    {
        line = PidMember().Replace(line, "\"pid\": PID");
        line = SpawnWrapper().Replace(line, "$1");
        line = line.Replace("Invalid parameter 'pid'", "PID does not exist");
        return UnknownPid().Replace(line, "PID does not exist");
    }

    [GeneratedRegex("\"pid\": (\\d+)")]
    private static partial Regex PidMember();

    [GeneratedRegex("Guest agent command failed, error was '(.*)'")]
    private static partial Regex SpawnWrapper();

    [GeneratedRegex("PID \\d+ does not exist")]
    private static partial Regex UnknownPid();

    [Fact]
    public async Task Test_qga_exec_cases_run_on_the_built_agent_with_head_semantics()
    {
        await using var agent = await AgentProcess.StartOursAsync();
        const string loop = "for i in $(seq 4); do if (( $i % 2 )); then echo stdout; else echo stderr 1>&2; fi; done;";
        var cases = new (string Request, string Final)[]
        {
            ("{\"execute\":\"guest-exec\",\"arguments\":{\"path\":\"echo\",\"arg\":[\"-n\",\"\\\" test_str \\\"\"],\"capture-output\":true}}",
             "{\"return\": {\"exitcode\": 0, \"out-data\": \"IiB0ZXN0X3N0ciAi\", \"out-truncated\": false, \"exited\": true}}"),
            ($"{{\"execute\":\"guest-exec\",\"arguments\":{{\"path\":\"bash\",\"arg\":[\"-c\",\"{loop}\"],\"capture-output\":\"separated\"}}}}",
             "{\"return\": {\"exitcode\": 0, \"err-data\": \"c3RkZXJyCnN0ZGVycgo=\", \"out-data\": \"c3Rkb3V0CnN0ZG91dAo=\", \"err-truncated\": false, \"out-truncated\": false, \"exited\": true}}"),
            ($"{{\"execute\":\"guest-exec\",\"arguments\":{{\"path\":\"bash\",\"arg\":[\"-c\",\"{loop}\"],\"capture-output\":\"merged\"}}}}",
             "{\"return\": {\"exitcode\": 0, \"out-data\": \"c3Rkb3V0CnN0ZGVycgpzdGRvdXQKc3RkZXJyCg==\", \"out-truncated\": false, \"exited\": true}}"),
        };
        foreach (var (request, final) in cases)
        {
            var transcript = (await ExecTranscript(agent, request)).Split('\n');
            Assert.Equal("{\"return\": {\"pid\": PID}}", transcript[0]);
            Assert.Equal(final, transcript[1]);
            Assert.Equal("{\"error\": {\"class\": \"GenericError\", \"desc\": \"PID does not exist\"}}", transcript[2]);
        }
        var invalid = await agent.RoundTripAsync("{\"execute\":\"guest-exec\",\"arguments\":{\"path\":\"/bin/invalid-cmd42\"}}");
        Assert.Equal("{\"error\": {\"class\": \"GenericError\", \"desc\": \"Failed to execute child process \\u201C/bin/invalid-cmd42\\u201D (No such file or directory)\"}}", invalid);
        Assert.Equal("{\"error\": {\"class\": \"GenericError\", \"desc\": \"PID 0 does not exist\"}}",
            await agent.RoundTripAsync("{\"execute\":\"guest-exec-status\",\"arguments\":{\"pid\":0}}"));
        Assert.Equal(0, await agent.TerminateAsync());
    }

    [Fact]
    public async Task The_handle_counter_survives_an_agent_restart()
    {
        var stateDir = Directory.CreateTempSubdirectory("restart-state-").FullName;
        try
        {
            var file = Path.Combine(stateDir, "a");
            await using (var first = await AgentProcess.StartOursAsync("-t", stateDir))
            {
                for (var i = 0; i < 3; i++)
                    Assert.Equal($"{{\"return\": {1000 + i}}}", await first.RoundTripAsync(Open(file, "w")));
                Assert.Equal(0, await first.TerminateAsync());
            }
            Assert.Equal("[global]\nfd_counter=1003\n", await File.ReadAllTextAsync(Path.Combine(stateDir, "qga.state")));

            await using var second = await AgentProcess.StartOursAsync("-t", stateDir);
            Assert.Equal("{\"return\": 1003}", await second.RoundTripAsync(Open(file, "r")));
            Assert.Equal("{\"error\": {\"class\": \"GenericError\", \"desc\": \"handle '1000' has not been found\"}}",
                await second.RoundTripAsync("{\"execute\":\"guest-file-close\",\"arguments\":{\"handle\":1000}}"));
            Assert.Equal(0, await second.TerminateAsync());
        }
        finally
        {
            Directory.Delete(stateDir, recursive: true);
        }
    }

    /// <summary>
    /// SIGKILL lands at random points of a pipelined burst of opens. Every time, qga.state must still
    /// parse, and must be past every handle a client was given, so a restarted agent never reuses one.
    /// </summary>
    [Fact]
    public async Task A_kill_9_during_a_burst_of_opens_never_leaves_a_torn_or_stale_qga_state()
    {
        var stateDir = Directory.CreateTempSubdirectory("kill9-state-").FullName;
        try
        {
            var highestIssued = 999L;
            var rng = new Random(9);
            for (var round = 0; round < 6; round++)
            {
                await using var agent = await AgentProcess.StartOursAsync("-t", stateDir);
                var burst = string.Concat(Enumerable.Repeat(Open(Path.Combine(stateDir, "f"), "w") + "\n", 3000));
                var sending = agent.SendAsync(burst);
                var clock = Stopwatch.StartNew();
                var killAfter = TimeSpan.FromMilliseconds(rng.Next(20, 400));
                try
                {
                    while (clock.Elapsed < killAfter)
                    {
                        var reply = await agent.ReadLineAsync(TimeSpan.FromSeconds(10));
                        var handle = long.Parse(HandleReply().Match(reply).Groups[1].Value);
                        Assert.True(handle > highestIssued, $"handle {handle} was issued twice");
                        highestIssued = handle;
                    }
                }
                finally
                {
                    Process.GetProcessById(agent.Pid).Kill(); // SIGKILL
                }
                await agent.WaitForExitAsync(TimeSpan.FromSeconds(20));
                try { await sending; } catch (Exception e) when (e is System.Net.Sockets.SocketException or ObjectDisposedException) { }

                var text = await File.ReadAllTextAsync(Path.Combine(stateDir, "qga.state"));
                var counter = StateFile().Match(text);
                Assert.True(counter.Success, $"round {round}: torn qga.state: {text}");
                Assert.True(long.Parse(counter.Groups[1].Value) > highestIssued, $"round {round}: counter {text} is not past handle {highestIssued}");
            }
            Assert.True(highestIssued > 1000, "the bursts handed out handles");
        }
        finally
        {
            Directory.Delete(stateDir, recursive: true);
        }
    }

    private static string Open(string path, string mode) =>
        $"{{\"execute\":\"guest-file-open\",\"arguments\":{{\"path\":\"{path}\",\"mode\":\"{mode}\"}}}}";

    [GeneratedRegex("^\\{\"return\": (\\d+)\\}$")]
    private static partial Regex HandleReply();

    [GeneratedRegex("^\\[global\\]\nfd_counter=(\\d+)\n$")]
    private static partial Regex StateFile();
}
