using Agent.Actors.Commands.CpuMemory;
using Agent.Protocol.Json;
using Akka.Actor;
using Xunit.Abstractions;

namespace Agent.Tests.Commands.CpuMemory;

public sealed class HotplugActorSpecs(ITestOutputHelper output) : GuestControlSpecBase(output)
{
    private IActorRef Family() => Sys.ActorOf(HotplugActor.Props(Settings().Paths));

    private string Cpu(int id) => Guest.SysPath($"devices/system/cpu/cpu{id}");

    private void Cpus()
    {
        Directory.CreateDirectory(Cpu(0)); // no "online": cannot be offlined
        Guest.Sys("devices/system/cpu/cpu1/online", "1\n");
        Guest.Sys("devices/system/cpu/cpu2/online", "0\n");
        Guest.Sys("devices/system/cpu/cpu3/online", "1\n");
    }

    private static JsonObject Vcpus(params (long Id, bool Online)[] vcpus) => Args(("vcpus", new JsonArray(vcpus
        .Select(v => (JsonValue)JsonObject.Of(("logical-id", new JsonInt(v.Id)), ("online", JsonBool.Of(v.Online)))).ToArray())));

    [Fact]
    public async Task Vcpus_are_switched_by_writing_their_online_file_only_when_the_state_changes()
    {
        Cpus();
        var before = File.GetLastWriteTimeUtc(Path.Combine(Cpu(3), "online"));

        Assert.Equal(new JsonInt(4), await Succeeds(Family(), "guest-set-vcpus", Vcpus((0, true), (1, false), (2, true), (3, true))));

        Assert.Equal("0\n", Guest.ReadSys("devices/system/cpu/cpu1/online"));
        Assert.Equal("1\n", Guest.ReadSys("devices/system/cpu/cpu2/online"));
        Assert.Equal("1\n", Guest.ReadSys("devices/system/cpu/cpu3/online"));
        Assert.Equal(before, File.GetLastWriteTimeUtc(Path.Combine(Cpu(3), "online")));
        Assert.False(File.Exists(Path.Combine(Cpu(0), "online")));
    }

    [Fact]
    public async Task A_vcpu_without_an_online_file_cannot_be_offlined()
    {
        Cpus();
        Assert.Equal("logical processor #0 can't be offlined", await Fails(Family(), "guest-set-vcpus", Vcpus((0, false))));
    }

    [Fact]
    public async Task A_later_failure_returns_the_count_processed_before_it()
    {
        Cpus();
        Assert.Equal(new JsonInt(1), await Succeeds(Family(), "guest-set-vcpus", Vcpus((1, false), (0, false), (2, true))));

        Assert.Equal("0\n", Guest.ReadSys("devices/system/cpu/cpu1/online"));
        Assert.Equal("0\n", Guest.ReadSys("devices/system/cpu/cpu2/online")); // never reached
    }

    [Fact]
    public async Task An_unknown_vcpu_fails_when_it_comes_first()
    {
        Cpus();
        Assert.Equal($"Could not open '{Guest.SysPath("devices/system/cpu")}/cpu9/': No such file or directory",
            await Fails(Family(), "guest-set-vcpus", Vcpus((9, true))));
    }

    [Fact]
    public async Task An_empty_list_returns_zero()
    {
        Cpus();
        Assert.Equal(new JsonInt(0), await Succeeds(Family(), "guest-set-vcpus", Vcpus()));
    }

    private static JsonObject Blocks(params (ulong Index, bool Online)[] blocks) => Args(("mem-blks", new JsonArray(blocks
        .Select(b => (JsonValue)JsonObject.Of(("phys-index", new JsonUInt(b.Index)), ("online", JsonBool.Of(b.Online)))).ToArray())));

    [Fact]
    public async Task Memory_blocks_are_switched_through_their_state_file_with_a_response_each()
    {
        Guest.Sys("devices/system/memory/memory32/state", "online\n");
        Guest.Sys("devices/system/memory/memory33/state", "offline\n");
        Guest.Sys("devices/system/memory/memory34/state", "online\n");
        Directory.CreateDirectory(Guest.SysPath("devices/system/memory/memory35"));

        var answer = await Succeeds(Family(), "guest-set-memory-blocks",
            Blocks((32, false), (33, true), (34, true), (99, true), (35, false), (35, true)));

        AssertJson("""
            [{"phys-index": 32, "response": "success"}, {"phys-index": 33, "response": "success"}, {"phys-index": 34, "response": "success"}, {"phys-index": 99, "response": "not-found", "error-code": 2}, {"phys-index": 35, "response": "operation-not-supported", "error-code": 2}, {"phys-index": 35, "response": "success", "error-code": 2}]
            """, answer);
        Assert.Equal("offline", Guest.ReadSys("devices/system/memory/memory32/state"));
        Assert.Equal("online", Guest.ReadSys("devices/system/memory/memory33/state"));
        Assert.Equal("online\n", Guest.ReadSys("devices/system/memory/memory34/state"));
    }

    [Fact]
    public async Task Without_memory_sysfs_every_block_is_not_supported()
    {
        AssertJson("""[{"phys-index": 1, "response": "operation-not-supported", "error-code": 2}]""",
            await Succeeds(Family(), "guest-set-memory-blocks", Blocks((1, true))));
    }
}
