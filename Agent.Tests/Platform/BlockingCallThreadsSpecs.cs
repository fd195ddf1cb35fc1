using Agent.Actors.Platform;

namespace Agent.Tests.Platform;

/// <summary>The threads fsinfo's statvfs calls run on: handed over, reused, and never given to a call while one hangs.</summary>
public class BlockingCallThreadsSpecs
{
    [Fact]
    public async Task Calls_in_turn_return_their_results_and_reuse_an_idle_thread()
    {
        using var threads = new BlockingCallThreads("spec", maxIdle: 2);
        var used = new HashSet<int>();
        for (var i = 0; i < 500; i++)
        {
            var n = i;
            var (value, thread) = await threads.Run(() => (n * 2, Environment.CurrentManagedThreadId));
            Assert.Equal(i * 2, value);
            used.Add(thread);
        }
        // A task completes on its thread after that thread went back to the idle ones.
        Assert.Single(used);
    }

    [Fact]
    public async Task A_hanging_call_keeps_its_thread_and_the_next_call_gets_another()
    {
        using var threads = new BlockingCallThreads("spec", maxIdle: 2);
        using var release = new ManualResetEventSlim();
        var hanging = threads.Run(() => { release.Wait(); return Environment.CurrentManagedThreadId; });
        var other = await threads.Run(() => Environment.CurrentManagedThreadId);
        Assert.False(hanging.IsCompleted);
        release.Set();
        Assert.NotEqual(other, await hanging);
    }

    [Fact]
    public async Task A_call_that_throws_fails_its_task_and_the_thread_serves_the_next()
    {
        using var threads = new BlockingCallThreads("spec", maxIdle: 1);
        await Assert.ThrowsAsync<InvalidOperationException>(() => threads.Run<int>(() => throw new InvalidOperationException("statvfs")));
        Assert.Equal(7, await threads.Run(() => 7));
    }
}
