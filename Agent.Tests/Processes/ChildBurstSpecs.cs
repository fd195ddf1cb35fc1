using System.Diagnostics;
using Agent.Actors.Processes;
using Agent.Actors.Settings;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using Xunit.Abstractions;

namespace Agent.Tests.Processes;

/// <summary>Tests that count this process's zombies and fds run alone, so no other test's children are in flight.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessAccountingCollection
{
    public const string Name = "process accounting";
}

[Collection(ProcessAccountingCollection.Name)]
public sealed class ChildBurstSpecs : TestKit
{
    private readonly ITestOutputHelper _output;

    public ChildBurstSpecs(ITestOutputHelper output) : base("akka.loglevel = WARNING", output: output) => _output = output;

    private static SpawnSpec Kind(int i) => (i % 10) switch
    {
        0 => new("/bin/sh", ["-c", "kill -9 $$"]),
        1 => new("/bin/sh", ["-c", "sleep 100 & sleep 100"], Timeout: TimeSpan.FromMilliseconds(200)),
        2 => new("/nonexistent/helper", []),
        3 => new("cat", [], Input: new byte[10_000], Stdout: OutputMode.Capture),
        4 => new("/bin/sh", ["-c", "echo out; echo err >&2"], Stdout: OutputMode.Capture, Stderr: OutputMode.MergeIntoStdout),
        _ => new("/bin/sh", ["-c", $"exit {i % 7}"], Stdout: OutputMode.Capture, Stderr: OutputMode.Capture),
    };

    [Fact]
    public async Task A_thousand_children_leave_no_zombie_and_no_fd_behind()
    {
        const int total = 1000, window = 50;
        var reaper = Sys.ActorOf(ReaperActor.Props(new ProcessSettings(TimeSpan.FromSeconds(1), 64 * 1024)));
        // Warm up once so lazily opened runtime fds (signal pipe, epoll) are not counted as leaks.
        Sys.ActorOf(ChildProcess.Props(Kind(5), reaper, TestActor));
        await ExpectMsgAsync<ChildStarted>(TimeSpan.FromSeconds(20));
        await ExpectMsgAsync<ChildCompleted>(TimeSpan.FromSeconds(20));
        var fdsBefore = ProcFs.OpenFdCount();
        var openBefore = ProcFs.OpenFdTargets();
        var zombiesBefore = ProcFs.ZombieChildren();

        var clock = Stopwatch.StartNew();
        int started = 0, finished = 0, spawnFailures = 0, timedOut = 0, signalled = 0;
        while (started < Math.Min(window, total)) Sys.ActorOf(ChildProcess.Props(Kind(started++), reaper, TestActor));
        while (finished < total)
        {
            var msg = await ReceiveOneAsync(TimeSpan.FromSeconds(60));
            switch (msg)
            {
                case ChildStarted: continue;
                case ChildSpawnFailed: spawnFailures++; break;
                case ChildCompleted c:
                    if (c.TimedOut) timedOut++;
                    else if (c.Signal is not null) signalled++;
                    break;
                default: throw new Xunit.Sdk.XunitException($"unexpected {msg}");
            }
            finished++;
            if (started < total) Sys.ActorOf(ChildProcess.Props(Kind(started++), reaper, TestActor));
        }
        clock.Stop();

        Assert.Equal(100, spawnFailures);
        Assert.Equal(100, timedOut);
        Assert.Equal(100, signalled);
        await AwaitAssertAsync(() => Assert.Empty(ProcFs.NewZombieChildren(zombiesBefore)), TimeSpan.FromSeconds(10));
        await AwaitAssertAsync(() => Assert.Empty(ProcFs.NewPipes(openBefore)), TimeSpan.FromSeconds(10));
        _output.WriteLine($"{total} children ({total - spawnFailures} spawned) in {clock.Elapsed.TotalSeconds:F2} s; " +
                          $"zombies {ProcFs.NewZombieChildren(zombiesBefore).Count}, fds {fdsBefore} -> {ProcFs.OpenFdCount()}, new pipes {ProcFs.NewPipes(openBefore).Count}");
    }
}
