using Agent.Actors.Processes;
using Agent.Actors.Settings;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using Xunit.Abstractions;

namespace Agent.Tests.Processes;

/// <summary>A SIGCHLD stand-in the test fires by hand.</summary>
public sealed class FakeChildSignals : IChildSignalSource
{
    private Action? _handler;

    public IDisposable Subscribe(Action onSignal)
    {
        _handler = onSignal;
        return new Unsubscriber(this);
    }

    public void Fire() => _handler?.Invoke();

    private sealed class Unsubscriber(FakeChildSignals owner) : IDisposable
    {
        public void Dispose() => owner._handler = null;
    }
}

public sealed class ReaperSpecs : TestKit
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    public ReaperSpecs(ITestOutputHelper output) : base("akka.loglevel = WARNING", output: output) { }

    private static SpawnSpec Sleep(string seconds) => new("/bin/sh", ["-c", $"sleep {seconds}; exit 7"]);

    [Fact]
    public async Task Without_a_signal_nothing_is_reaped_until_one_arrives()
    {
        var signals = new FakeChildSignals();
        var reaper = Sys.ActorOf(ReaperActor.Props(new ProcessSettings(TimeSpan.FromHours(1), 1024), signals));
        var dir = Directory.CreateTempSubdirectory("agent-reaper-").FullName;
        try
        {
            // The child waits on a FIFO until released, so the reaper surely watches it while it runs.
            var gate = Path.Combine(dir, "gate");
            using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", [gate])) await mkfifo.WaitForExitAsync();
            var watches = CreateTestProbe();
            Sys.ActorOf(ChildProcess.Props(new SpawnSpec("/bin/sh", ["-c", $"read x < '{gate}'; exit 7"]), watches, TestActor));
            var started = await ExpectMsgAsync<ChildStarted>(Wait);
            reaper.Tell(await watches.ExpectMsgAsync<Watch>(Wait), TestActor);
            reaper.Tell(new Watch(Environment.ProcessId, TestActor), TestActor); // answered once the first Watch was handled
            await ExpectMsgAsync<ChildReapFailed>(Wait);
            Assert.True(ProcFs.IsAlive(started.Pid));

            await File.WriteAllTextAsync(gate, "go\n");
            // The child exits and stays a zombie: no wake-up, and the sweep is an hour away.
            await AwaitAssertAsync(() => Assert.Contains(started.Pid, ProcFs.ZombieChildren()), Wait);
            await ExpectNoMsgAsync(TimeSpan.FromMilliseconds(300));

            signals.Fire();
            var done = await ExpectMsgAsync<ChildCompleted>(Wait);
            Assert.Equal(7, done.ExitCode);
            // Reaped once its owner stopped (the owner reported, then stopped).
            await AwaitAssertAsync(() => Assert.Null(ProcFs.Stat(started.Pid)), Wait);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public async Task The_sweep_reaps_when_signals_are_lost()
    {
        var reaper = Sys.ActorOf(ReaperActor.Props(new ProcessSettings(TimeSpan.FromMilliseconds(200), 1024), new FakeChildSignals()));
        Sys.ActorOf(ChildProcess.Props(Sleep("0.1"), reaper, TestActor));
        await ExpectMsgAsync<ChildStarted>(Wait);
        Assert.Equal(7, (await ExpectMsgAsync<ChildCompleted>(Wait)).ExitCode);
    }

    [Fact]
    public async Task The_sweep_stops_with_the_last_child_and_starts_again_with_the_next()
    {
        // The sweep only runs while a child is watched (an idle agent has no timer); with every signal
        // lost, a child watched after the set emptied is still found by the sweep it restarts.
        var reaper = Sys.ActorOf(ReaperActor.Props(new ProcessSettings(TimeSpan.FromMilliseconds(200), 1024), new FakeChildSignals()));
        Sys.ActorOf(ChildProcess.Props(Sleep("0.1"), reaper, TestActor));
        await ExpectMsgAsync<ChildStarted>(Wait);
        Assert.Equal(7, (await ExpectMsgAsync<ChildCompleted>(Wait)).ExitCode);
        await ExpectNoMsgAsync(TimeSpan.FromMilliseconds(500));

        Sys.ActorOf(ChildProcess.Props(new SpawnSpec("/bin/sh", ["-c", "sleep 0.1; exit 4"]), reaper, TestActor));
        await ExpectMsgAsync<ChildStarted>(Wait);
        Assert.Equal(4, (await ExpectMsgAsync<ChildCompleted>(Wait)).ExitCode);
    }

    [Fact]
    public async Task A_child_that_exited_before_the_watch_is_reaped_at_once()
    {
        var signals = new FakeChildSignals();
        var reaper = Sys.ActorOf(ReaperActor.Props(new ProcessSettings(TimeSpan.FromHours(1), 1024), signals));
        var slowPost = CreateTestProbe();
        Sys.ActorOf(ChildProcess.Props(new SpawnSpec("/bin/sh", ["-c", "exit 5"]), slowPost, TestActor));
        var started = await ExpectMsgAsync<ChildStarted>(Wait);
        var watch = await slowPost.ExpectMsgAsync<Watch>(Wait);
        await AwaitAssertAsync(() => Assert.Contains(started.Pid, ProcFs.ZombieChildren()), Wait);

        // The Watch arrives after the exit and no signal will ever come: the watch itself must reap.
        reaper.Tell(watch);
        Assert.Equal(5, (await ExpectMsgAsync<ChildCompleted>(Wait)).ExitCode);
    }

    [Fact]
    public async Task A_pid_that_is_not_our_child_is_reported_as_a_failure_and_the_reaper_keeps_working()
    {
        var signals = new FakeChildSignals();
        var reaper = Sys.ActorOf(ReaperActor.Props(new ProcessSettings(TimeSpan.FromHours(1), 1024), signals));
        reaper.Tell(new Watch(Environment.ProcessId, TestActor));
        var failed = await ExpectMsgAsync<ChildReapFailed>(Wait);
        Assert.Equal(10, failed.Errno); // ECHILD

        Sys.ActorOf(ChildProcess.Props(new SpawnSpec("/bin/sh", ["-c", "sleep 0.1; exit 3"]), reaper, TestActor));
        await ExpectMsgAsync<ChildStarted>(Wait);
        // Wake it until the exit is collected (the Watch itself may already have collected it).
        ChildCompleted? done = null;
        for (var deadline = DateTime.UtcNow + Wait; done is null && DateTime.UtcNow < deadline;)
        {
            signals.Fire();
            done = await ReceiveOneAsync(TimeSpan.FromMilliseconds(200)) as ChildCompleted;
        }
        Assert.Equal(3, done?.ExitCode);
    }

    [Fact]
    public async Task Signals_reach_only_children_the_reaper_still_holds()
    {
        var reaper = Sys.ActorOf(ReaperActor.Props(new ProcessSettings(TimeSpan.FromMilliseconds(100), 1024)));

        // A process the reaper never watched is never signalled, even though it is our own child.
        using var stranger = System.Diagnostics.Process.Start("sleep", "100");
        try
        {
            reaper.Tell(new SignalGroup(stranger.Id, 9, 1), TestActor);
            Assert.Equal(new GroupSignalled(stranger.Id, 1, 3), await ExpectMsgAsync<GroupSignalled>(Wait)); // ESRCH
            await Task.Delay(100);
            Assert.True(ProcFs.IsAlive(stranger.Id));
        }
        finally { stranger.Kill(); }

        // A watched child's exit is reported while the zombie is kept for its owner...
        var watches = CreateTestProbe();
        var owner = CreateTestProbe();
        Sys.ActorOf(ChildProcess.Props(new SpawnSpec("/bin/sh", ["-c", "exit 4"]), watches, TestActor));
        var pid = (await ExpectMsgAsync<ChildStarted>(Wait)).Pid;
        reaper.Tell(new Watch((await watches.ExpectMsgAsync<Watch>(Wait)).Pid, owner.Ref));
        Assert.Equal(new ChildExited(pid, 4, null, false), await owner.ExpectMsgAsync<ChildExited>(Wait));
        Assert.Contains(pid, ProcFs.ZombieChildren());
        reaper.Tell(new SignalGroup(pid, 0, 2), TestActor);
        Assert.Equal(new GroupSignalled(pid, 2, 0), await ExpectMsgAsync<GroupSignalled>(Wait));

        // ...and reaped when the owner stops; from then on the pid is nobody the agent may signal.
        Sys.Stop(owner.Ref);
        await AwaitAssertAsync(() => Assert.Null(ProcFs.Stat(pid)), Wait);
        reaper.Tell(new SignalGroup(pid, 9, 3), TestActor);
        Assert.Equal(new GroupSignalled(pid, 3, 3), await ExpectMsgAsync<GroupSignalled>(Wait));
    }

    [Fact]
    public async Task A_reaper_that_stops_kills_the_groups_still_running_and_reaps_their_leaders()
    {
        // At the agent's stop the reaper may stop before the owners whose PostStop asks it to kill.
        var reaper = Sys.ActorOf(ReaperActor.Props(new ProcessSettings(TimeSpan.FromHours(1), 1024), new FakeChildSignals()));
        var grandchildFile = Path.Combine(Path.GetTempPath(), $"reaper-spec-{Guid.NewGuid():N}");
        try
        {
            Sys.ActorOf(ChildProcess.Props(new SpawnSpec("/bin/sh", ["-c", $"sleep 100 & echo $! > '{grandchildFile}'; wait"]), reaper, TestActor));
            var pid = (await ExpectMsgAsync<ChildStarted>(Wait)).Pid;
            await AwaitConditionAsync(() => Task.FromResult(File.Exists(grandchildFile) && File.ReadAllText(grandchildFile).EndsWith('\n')), Wait);
            var grandchild = int.Parse(File.ReadAllText(grandchildFile));
            Assert.True(ProcFs.IsAlive(pid) && ProcFs.IsAlive(grandchild));

            Sys.Stop(reaper);

            await AwaitAssertAsync(() => Assert.Null(ProcFs.Stat(pid)), Wait);
            await AwaitAssertAsync(() => Assert.False(ProcFs.IsAlive(grandchild)), Wait);
        }
        finally { File.Delete(grandchildFile); }
    }

    [Fact]
    public async Task The_real_SIGCHLD_wakes_the_reaper_long_before_its_sweep()
    {
        var reaper = Sys.ActorOf(ReaperActor.Props(new ProcessSettings(TimeSpan.FromHours(1), 1024)));
        Sys.ActorOf(ChildProcess.Props(Sleep("0.2"), reaper, TestActor));
        await ExpectMsgAsync<ChildStarted>(Wait);
        Assert.Equal(7, (await ExpectMsgAsync<ChildCompleted>(Wait)).ExitCode);
    }
}
