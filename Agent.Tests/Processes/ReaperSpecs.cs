using Agent.Actors.Processes;
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
            Assert.Null(ProcFs.Stat(started.Pid));
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
    public async Task The_real_SIGCHLD_wakes_the_reaper_long_before_its_sweep()
    {
        var reaper = Sys.ActorOf(ReaperActor.Props(new ProcessSettings(TimeSpan.FromHours(1), 1024)));
        Sys.ActorOf(ChildProcess.Props(Sleep("0.2"), reaper, TestActor));
        await ExpectMsgAsync<ChildStarted>(Wait);
        Assert.Equal(7, (await ExpectMsgAsync<ChildCompleted>(Wait)).ExitCode);
    }
}
