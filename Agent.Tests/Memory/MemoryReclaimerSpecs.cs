using Agent.Actors.Memory;
using Agent.Actors.Settings;
using Xunit.Abstractions;

namespace Agent.Tests.Memory;

public sealed class MemoryReclaimerSpecs(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit(output: output)
{
    [Fact]
    public void Collects_and_compacts_the_whole_heap_once_after_start()
    {
        var before = GC.GetGCMemoryInfo(GCKind.FullBlocking).Index;
        // Burst reclaiming off: only the after-start collection can run.
        Sys.ActorOf(MemoryReclaimer.Props(new MemorySettings(0, TimeSpan.FromSeconds(2), TimeSpan.FromMilliseconds(100), ReleaseBinaryPages: false)));
        AwaitCondition(() =>
        {
            var full = GC.GetGCMemoryInfo(GCKind.FullBlocking);
            return full.Index > before && full.Generation == GC.MaxGeneration && full.Compacted;
        }, TimeSpan.FromSeconds(10));
    }
}
