using Agent.Actors.Commands.CpuMemory;
using Agent.Protocol.Json;
using Xunit.Abstractions;
using Agent.Tests.Fakes;

namespace Agent.Tests.Commands.CpuMemory;

public sealed class HardwareActorSpecs(ITestOutputHelper output) : FamilySpec(output), IDisposable
{
    private readonly FakeTree _tree = new();

    private Akka.Actor.IActorRef Hardware() =>
        Sys.ActorOf(HardwareActor.Props(SettingsFor(_tree)));

    [Fact]
    public async Task Vcpus_follow_readdir_order_and_a_cpu_without_online_cannot_be_offlined()
    {
        _tree.Dir("sys/devices/system/cpu/cpu0")
             .File("sys/devices/system/cpu/cpu1/online", "1\n")
             .File("sys/devices/system/cpu/cpu2/online", "0\n")
             .File("sys/devices/system/cpu/cpu3/online", "1\n")
             .Dir("sys/devices/system/cpu/cpufreq")
             .Dir("sys/devices/system/cpu/cpuidle")
             .File("sys/devices/system/cpu/online", "0-1,3\n")
             .File("sys/devices/system/cpu/possible", "0-3\n");
        var byName = new Dictionary<string, string>
        {
            ["cpu0"] = """{"logical-id":0,"online":true,"can-offline":false}""",
            ["cpu1"] = """{"logical-id":1,"online":true,"can-offline":true}""",
            ["cpu2"] = """{"logical-id":2,"online":false,"can-offline":true}""",
            ["cpu3"] = """{"logical-id":3,"online":true,"can-offline":true}""",
        };
        var expected = "[" + string.Join(",", _tree.ReaddirOrder("sys/devices/system/cpu").Where(byName.ContainsKey).Select(n => byName[n])) + "]";

        Assert.Equal(expected, Json.Text(await Succeeds(Hardware(), "guest-get-vcpus")));
    }

    [Fact]
    public async Task Vcpus_without_the_cpu_directory_fail_with_qemus_text()
    {
        var error = await Error(Hardware(), "guest-get-vcpus");
        Assert.Equal($"failed to list entries: {_tree.Path("sys/devices/system/cpu")}: No such file or directory", error.Desc);
    }

    [Fact]
    public async Task Memory_blocks_report_state_and_removability()
    {
        const string memory = "sys/devices/system/memory";
        _tree.File($"{memory}/block_size_bytes", "8000000\n")
             .File($"{memory}/auto_online_blocks", "online\n")
             .Dir($"{memory}/power")
             .File($"{memory}/memory0/state", "online\n").File($"{memory}/memory0/removable", "0\n")
             .File($"{memory}/memory1/state", "online\n").File($"{memory}/memory1/removable", "1\n")
             .File($"{memory}/memory32/state", "offline\n").File($"{memory}/memory32/removable", "1\n")
             .File($"{memory}/memory33/state", "going-offline\n")
             .Dir($"{memory}/memory40");
        var byName = new Dictionary<string, string>
        {
            ["memory0"] = """{"phys-index":0,"online":true,"can-offline":false}""",
            ["memory1"] = """{"phys-index":1,"online":true,"can-offline":true}""",
            ["memory32"] = """{"phys-index":32,"online":false,"can-offline":true}""",
            ["memory33"] = """{"phys-index":33,"online":false,"can-offline":false}""",
            ["memory40"] = """{"phys-index":40,"online":true,"can-offline":false}""",
        };
        var expected = "[" + string.Join(",", _tree.ReaddirOrder(memory).Where(byName.ContainsKey).Select(n => byName[n])) + "]";
        var hardware = Hardware();

        Assert.Equal(expected, Json.Text(await Succeeds(hardware, "guest-get-memory-blocks")));
        Assert.Equal("""{"size":134217728}""", Json.Text(await Succeeds(hardware, "guest-get-memory-block-info")));
    }

    [Fact]
    public async Task Memory_without_hotplug_sysfs_is_an_empty_list_and_an_info_error()
    {
        var hardware = Hardware();
        Assert.Equal(JsonArray.Empty, await Succeeds(hardware, "guest-get-memory-blocks"));
        var error = await Error(hardware, "guest-get-memory-block-info");
        Assert.Equal($"open(\"{_tree.Path("sys/devices/system/memory/")}\"): No such file or directory", error.Desc);

        _tree.Dir("sys/devices/system/memory/power");
        Assert.Equal("guest reported zero memory blocks!", (await Error(hardware, "guest-get-memory-blocks")).Desc);
        Assert.Equal("open sysfs file \"block_size_bytes\": No such file or directory", (await Error(hardware, "guest-get-memory-block-info")).Desc);
    }

    public new void Dispose()
    {
        _tree.Dispose();
        base.Dispose();
    }
}
