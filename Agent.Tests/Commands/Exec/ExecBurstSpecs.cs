using System.Diagnostics;
using Agent.Protocol.Json;
using Agent.Tests.Processes;
using Xunit.Abstractions;

namespace Agent.Tests.Commands.Exec;

/// <summary>Counts this process's zombies and fds, so it runs alone (no other test's children in flight).</summary>
[Collection(ProcessAccountingCollection.Name)]
public sealed class ExecBurstSpecs(ITestOutputHelper output) : ExecSpecBase(output)
{
    private readonly ITestOutputHelper _output = output;

    [Fact]
    public async Task A_thousand_guest_execs_leave_no_zombie_and_no_fd_behind()
    {
        const int total = 1000;
        // every child may still be running when the last one is spawned
        var exec = Exec(DefaultSettings with { MaxRunning = total + 1 });
        // Warm up once so lazily opened runtime fds (signal pipe, epoll) are not counted as leaks.
        await WaitExited(exec, Member(await Ok(exec, "guest-exec", ("path", S("true")), ("capture-output", JsonBool.True)), "pid"));
        var openBefore = ProcFs.OpenFdTargets();
        var zombiesBefore = ProcFs.ZombieChildren();

        var clock = Stopwatch.StartNew();
        var pids = new List<long>(total);
        for (var i = 0; i < total; i++)
        {
            // a mix: plain exits, captured output, input through stdin, a death by signal
            var args = (i % 4) switch
            {
                0 => new (string, JsonValue?)[] { ("path", S("true")) },
                1 => [("path", S("sh")), ("arg", Strings("-c", $"echo {i}; exit {i % 7}")), ("capture-output", JsonBool.True)],
                2 => [("path", S("cat")), ("input-data", B64($"input {i}")), ("capture-output", S("merged"))],
                _ => [("path", S("sh")), ("arg", Strings("-c", "kill -9 $$"))],
            };
            pids.Add(Member(await Ok(exec, "guest-exec", args), "pid"));
        }
        var spawned = clock.Elapsed;

        for (var i = 0; i < total; i++)
        {
            var status = (JsonObject)await WaitExited(exec, pids[i]);
            switch (i % 4)
            {
                case 0: Assert.Equal(0, Member(status, "exitcode")); break;
                case 1:
                    Assert.Equal(i % 7, Member(status, "exitcode"));
                    Assert.Equal($"{i}\n", Decode(Text(status, "out-data")));
                    break;
                case 2: Assert.Equal($"input {i}", Decode(Text(status, "out-data"))); break;
                default: Assert.Equal(9, Member(status, "signal")); break;
            }
        }
        _output.WriteLine($"{total} guest-execs: spawned in {spawned.TotalMilliseconds:F0} ms, all collected in {clock.Elapsed.TotalMilliseconds:F0} ms");

        await AwaitAssertAsync(() =>
        {
            Assert.Empty(ProcFs.NewZombieChildren(zombiesBefore));
            // every fd guest-exec creates is a pipe; a new pipe inode left open is a leak, whatever
            // other tests' late finalizers do to the plain fd count
            Assert.Empty(ProcFs.NewPipes(openBefore));
        }, Patience);
    }
}
