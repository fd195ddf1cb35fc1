using System.Buffers;
using System.Runtime.InteropServices;
using System.Text;
using Agent.Actors.Processes;
using Agent.Actors.Settings;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using Xunit.Abstractions;

namespace Agent.Tests.Processes;

public sealed class ChildProcessSpecs : TestKit
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);
    private readonly IActorRef _reaper;

    public ChildProcessSpecs(ITestOutputHelper output) : base("akka.loglevel = WARNING", output: output)
    {
        _reaper = Sys.ActorOf(ReaperActor.Props(new ProcessSettings(TimeSpan.FromSeconds(1), 64 * 1024)), "reaper");
    }

    private static SpawnSpec Sh(string script, OutputMode stdout = OutputMode.Capture, OutputMode stderr = OutputMode.Capture,
        byte[]? input = null, int limit = 1 << 20, TimeSpan? timeout = null) =>
        new("/bin/sh", ["-c", script], Input: input, Stdout: stdout, Stderr: stderr, OutputLimit: limit, Timeout: timeout);

    private async Task<ChildCompleted> Run(SpawnSpec spec)
    {
        Sys.ActorOf(ChildProcess.Props(spec, _reaper, TestActor));
        await ExpectMsgAsync<ChildStarted>(Wait);
        return await ExpectMsgAsync<ChildCompleted>(Wait);
    }

    [Fact]
    public async Task A_large_capture_frees_the_answered_captures_before_it()
    {
        var earlier = await LargestPieceOf(Sh("head -c 3000000 /dev/zero", limit: 4 << 20));

        var later = await Run(Sh("head -c 2000000 /dev/zero", limit: 4 << 20));

        Assert.Equal(2_000_000, later.Stdout.Length);
        // The later capture collected on its pump's thread before it completed; the test triggers no collection.
        var deadline = DateTime.UtcNow + Wait;
        while (earlier.IsAlive && DateTime.UtcNow < deadline) await Task.Delay(20);
        Assert.False(earlier.IsAlive, "the earlier capture's piece on the large object heap is still there");
    }

    /// <summary>Runs the child and keeps only a weak reference to its largest capture piece.</summary>
    private async Task<WeakReference> LargestPieceOf(SpawnSpec spec)
    {
        var done = await Run(spec);
        byte[]? largest = null;
        foreach (var piece in done.Stdout)
            if (MemoryMarshal.TryGetArray(piece, out var segment) && segment.Array!.Length > (largest?.Length ?? 0))
                largest = segment.Array;
        Assert.True(largest!.Length >= 1 << 20);
        // The TestKit keeps the last message it received: make it another one.
        TestActor.Tell("forget");
        await ExpectMsgAsync("forget", Wait);
        return new WeakReference(largest);
    }

    [Theory]
    [InlineData(8 << 20)]          // whole: 1 MiB of growing pieces, then 2 MiB huge-page pieces
    [InlineData(3_500_001)]        // cut after one huge-page piece, inside a plain one
    public async Task A_capture_past_its_huge_page_pieces_keeps_every_byte_in_order(int limit)
    {
        var expected = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Range(1, 700_000).Select(i => $"{i}\n")));
        var done = await Run(Sh("seq 1 700000", limit: limit));
        Assert.Equal(0, done.ExitCode);
        var kept = Math.Min(limit, expected.Length);
        Assert.Equal(expected.AsSpan(0, kept).ToArray(), done.Stdout.ToArray());
        Assert.Equal(limit < expected.Length, done.StdoutTruncated);
    }

    [Fact]
    public async Task Exit_code_137_and_death_by_SIGKILL_are_told_apart()
    {
        var exited = await Run(Sh("exit 137"));
        Assert.Equal(137, exited.ExitCode);
        Assert.Null(exited.Signal);

        var killed = await Run(Sh("kill -9 $$"));
        Assert.Null(killed.ExitCode);
        Assert.Equal(9, killed.Signal);
        Assert.False(killed.TimedOut);
    }

    [Fact]
    public async Task Input_reaches_the_child_through_stdin_even_when_larger_than_a_pipe()
    {
        var input = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Range(0, 20_000).Select(i => $"line {i}\n")));
        var done = await Run(new SpawnSpec("cat", [], Input: input, Stdout: OutputMode.Capture));
        Assert.Equal(0, done.ExitCode);
        Assert.Equal(input, done.Stdout.ToArray());
        Assert.False(done.StdoutTruncated);
    }

    [Fact]
    public async Task Output_beyond_the_limit_is_read_and_dropped_and_flagged()
    {
        var done = await Run(Sh("head -c 300000 /dev/zero; echo err >&2", limit: 1000));
        Assert.Equal(0, done.ExitCode);
        Assert.Equal(1000, done.Stdout.Length);
        Assert.True(done.StdoutTruncated);
        Assert.Equal("err\n", Encoding.ASCII.GetString(done.Stderr.ToArray()));
        Assert.False(done.StderrTruncated);
    }

    [Fact]
    public async Task Merged_stderr_keeps_the_order_the_child_wrote_in()
    {
        var done = await Run(Sh("echo one; echo two >&2; echo three; echo four >&2", stderr: OutputMode.MergeIntoStdout));
        Assert.Equal("one\ntwo\nthree\nfour\n", Encoding.ASCII.GetString(done.Stdout.ToArray()));
        Assert.True(done.Stderr.IsEmpty);
    }

    [Fact]
    public async Task Discarded_streams_and_no_input_complete_on_exit_alone()
    {
        var done = await Run(Sh("cat; echo hidden; exit 4", stdout: OutputMode.Discard, stderr: OutputMode.Discard));
        Assert.Equal(4, done.ExitCode);
        Assert.True(done.Stdout.IsEmpty);
    }

    [Fact]
    public async Task Children_start_with_default_signal_handling_and_nothing_blocked()
    {
        // The runtime ignores SIGPIPE; a child must not inherit that, or pipelines it runs never end.
        var done = await Run(Sh("grep -E '^Sig(Ign|Blk):' /proc/self/status"));
        var masks = Encoding.ASCII.GetString(done.Stdout.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .ToDictionary(l => l.Split(':')[0], l => Convert.ToUInt64(l.Split(':')[1].Trim(), 16));
        Assert.Equal(0UL, masks["SigIgn"] & (1UL << (13 - 1)));
        Assert.Equal(0UL, masks["SigBlk"]);
    }

    [Fact]
    public async Task A_timeout_kills_the_whole_process_group_grandchildren_included()
    {
        var spec = Sh("sleep 100 & echo $!; sleep 100", timeout: TimeSpan.FromSeconds(1));
        var done = await Run(spec);
        Assert.True(done.TimedOut);
        Assert.Equal(9, done.Signal);
        var grandchild = int.Parse(Encoding.ASCII.GetString(done.Stdout.ToArray()).Trim());
        await AwaitAssertAsync(() => Assert.False(ProcFs.IsAlive(grandchild)), Wait);
    }

    [Fact]
    public async Task Stopping_the_actor_kills_the_child_and_the_reaper_still_collects_it()
    {
        var child = Sys.ActorOf(ChildProcess.Props(Sh("sleep 100 & sleep 100"), _reaper, TestActor));
        var started = await ExpectMsgAsync<ChildStarted>(Wait);
        Assert.True(ProcFs.IsAlive(started.Pid));
        Sys.Stop(child);
        // Reaped means /proc no longer lists it at all (a zombie would still be listed).
        await AwaitAssertAsync(() => Assert.Null(ProcFs.Stat(started.Pid)), Wait);
    }

    [Fact]
    public async Task A_missing_program_is_a_spawn_failure_with_ENOENT()
    {
        Sys.ActorOf(ChildProcess.Props(new SpawnSpec("/nonexistent/agent-test-program", []), _reaper, TestActor));
        var failed = await ExpectMsgAsync<ChildSpawnFailed>(Wait);
        Assert.Equal(2, failed.Errno);
        Assert.Equal("No such file or directory", failed.Message);

        Sys.ActorOf(ChildProcess.Props(new SpawnSpec("agent-test-program-not-on-path", []), _reaper, TestActor));
        Assert.Equal(2, (await ExpectMsgAsync<ChildSpawnFailed>(Wait)).Errno);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task The_child_leads_its_own_process_group_and_by_default_its_own_session(bool newSession)
    {
        var done = await Run(new SpawnSpec("/bin/sh", ["-c", "cut -d' ' -f1,5,6 /proc/$$/stat"], Stdout: OutputMode.Capture, NewSession: newSession));
        var f = Encoding.ASCII.GetString(done.Stdout.ToArray()).Trim().Split(' ').Select(int.Parse).ToArray();
        var ourSession = int.Parse(File.ReadAllText("/proc/self/stat").Split(')')[1].Trim().Split(' ')[3]);
        Assert.Equal(f[0], f[1]); // pgrp == pid
        Assert.Equal(newSession ? f[0] : ourSession, f[2]);
    }

    [Fact]
    public async Task Environment_and_working_directory_are_the_given_ones()
    {
        var dir = Directory.CreateTempSubdirectory("agent-cwd-").FullName;
        try
        {
            var done = await Run(new SpawnSpec("/bin/sh", ["-c", "pwd; echo $ONLY; echo ${HOME:-unset}"],
                Environment: ["ONLY=this"], WorkingDirectory: dir, Stdout: OutputMode.Capture));
            Assert.Equal($"{dir}\nthis\nunset\n", Encoding.ASCII.GetString(done.Stdout.ToArray()));
        }
        finally { Directory.Delete(dir, true); }
    }
}
