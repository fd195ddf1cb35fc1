using Agent.Actors.Commands.System;
using Agent.Protocol.Json;
using Xunit.Abstractions;
using Agent.Tests.Fakes;

namespace Agent.Tests.Commands.System;

public sealed class LoadActorSpecs(ITestOutputHelper output) : FamilySpec(output), IDisposable
{
    private readonly FakeTree _tree = new();

    private Akka.Actor.IActorRef Load(long clockTicks = 100) =>
        Sys.ActorOf(LoadActor.Props(SettingsFor(_tree), new FakeKernel(clockTicks: clockTicks)));

    [Fact]
    public async Task Cpustats_convert_ticks_to_milliseconds_and_add_columns_as_the_kernel_has_them()
    {
        _tree.File("proc/stat", """
            cpu  1000 20 300 40000 50 0 6 0 0 0
            cpu0 100 2 30 4000 5 1 6 7 8 9
            cpu1 200 0 60 8000 10 3 4
            cpu2 1 2 3 4
            intr 12345 0 0
            ctxt 999
            cpu3 1 2 3
            cpu4 9 9 9 9

            """);

        var stats = await Succeeds(Load(clockTicks: 250), "guest-get-cpustats");

        // 250 ticks per second: 1 tick = 4 ms. The walk ends at cpu3's short line, as qemu-ga's does.
        Assert.Equal(Json.Canonical("""
            [{"type":"linux","cpu":0,"user":400,"nice":8,"system":120,"idle":16000,"iowait":20,"irq":4,"softirq":24,"steal":28,"guest":32,"guestnice":36},
             {"type":"linux","cpu":1,"user":800,"nice":0,"system":240,"idle":32000,"iowait":40,"irq":12,"softirq":16},
             {"type":"linux","cpu":2,"user":4,"nice":8,"system":12,"idle":16}]
            """), Json.Text(stats));
    }

    [Fact]
    public async Task Load_reads_the_three_averages_as_doubles()
    {
        _tree.File("proc/loadavg", "0.50 1.25 12.00 3/456 7890\n");
        var load = Load();

        var averages = (JsonObject)await Succeeds(load, "guest-get-load");

        Assert.Equal("""{"load1m":0.5,"load5m":1.25,"load15m":12}""", Json.Text(averages));
        Assert.IsType<JsonDouble>(averages["load15m"]);

        File.Delete(_tree.Path("proc/loadavg"));
        Assert.Equal("cannot query load average: No such file or directory", (await Error(load, "guest-get-load")).Desc);
    }

    public new void Dispose()
    {
        _tree.Dispose();
        base.Dispose();
    }
}
