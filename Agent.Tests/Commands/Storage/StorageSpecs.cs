using Agent.Actors.Commands.Storage;
using Agent.Actors.Platform;
using Agent.Protocol.Json;
using Xunit.Abstractions;
using Agent.Tests.Fakes;

namespace Agent.Tests.Commands.Storage;

public sealed class StorageSpecs(ITestOutputHelper output) : FamilySpec(output), IDisposable
{
    private readonly FakeTree _tree = StorageTree.Build(new FakeTree());
    private readonly FakeFilesystemStats _stats = StorageTree.Stats();

    private const string Virtio = """{"pci-controller":{"domain":0,"bus":0,"slot":4,"function":0},"bus-type":"virtio","bus":0,"target":0,"unit":0,"serial":"vd-serial-1",""";
    private const string Scsi = """{"pci-controller":{"domain":0,"bus":0,"slot":5,"function":0},"bus-type":"scsi","bus":0,"target":0,"unit":3,"serial":"0QEMU_QEMU_HARDDISK_drive-scsi0-0-0-3",""";
    private const string NvmeAddress = """{"pci-controller":{"domain":0,"bus":1,"slot":0,"function":0},"bus-type":"nvme","bus":0,"target":0,"unit":0,""";
    private const string Sata = """{"pci-controller":{"domain":0,"bus":0,"slot":31,"function":2},"bus-type":"sata","bus":0,"target":0,"unit":2,""";

    private Akka.Actor.IActorRef Filesystems(string timeout = "500ms") =>
        Sys.ActorOf(FilesystemsActor.Props(SettingsFor(_tree, $"agent.inventory.statvfs-timeout = {timeout}"), _stats));

    [Fact]
    public async Task Fsinfo_lists_block_mounts_in_reverse_without_repeats_and_decodes_every_bus()
    {
        // /mnt/btrfs's statvfs hangs like a dead server: the reply still comes, without its usage.
        _stats.Hung.Add("/mnt/btrfs");
        var filesystems = Filesystems();

        var reply = await Succeeds(filesystems, "guest-get-fsinfo");

        var expected = Json.Canonical($$"""
            [{"name":"sdc","mountpoint":"/boot","type":"ext2","used-bytes":51200,"total-bytes":92160,"total-bytes-privileged":102400,
              "disk":[{{Sata}}"dev":"/dev/sdc"}]},
             {"name":"sda","mountpoint":"/mnt/btrfs","type":"btrfs","disk":[{{Scsi}}"dev":"/dev/sda"}]},
             {"name":"dm-0","mountpoint":"/mnt/with space","type":"ext4","disk":[{{Scsi}}"dev":"/dev/sda1"}]},
             {"name":"nvme0n1p1","mountpoint":"/data","type":"xfs","used-bytes":5120,"total-bytes":5120,"total-bytes-privileged":5120,
              "disk":[{{NvmeAddress}}"serial":"QEMU NVMe Ctrl_nvme-serial","dev":"/dev/nvme0n1p1"}]},
             {"name":"vda1","mountpoint":"/","type":"ext4","used-bytes":2457600,"total-bytes":3686400,"total-bytes-privileged":4096000,
              "disk":[{{Virtio}}"dev":"/dev/vda1"}]}]
            """);
        Assert.Equal(expected, Json.Text(reply));

        // Asked again while the first statvfs still hangs: no second call piles up behind it.
        Assert.Equal(expected, Json.Text(await Succeeds(filesystems, "guest-get-fsinfo")));
        Assert.Equal(1, _stats.Calls["/mnt/btrfs"]);
        Assert.Equal(2, _stats.Calls["/"]);
    }

    [Fact]
    public async Task Fsinfo_includes_usage_of_every_mount_that_answers()
    {
        var reply = (JsonArray)await Succeeds(Filesystems("20s"), "guest-get-fsinfo");
        var btrfs = (JsonObject)reply.Items[1];
        Assert.Equal(new JsonString("/mnt/btrfs"), btrfs["mountpoint"]);
        Assert.Equal(new JsonInt(0), btrfs["used-bytes"]);
        Assert.Equal(new JsonInt(4096), btrfs["total-bytes"]);
        // statvfs failed for this one: the members are absent, the mandatory ones stay.
        var dm = (JsonObject)reply.Items[2];
        Assert.Equal(["name", "mountpoint", "type", "disk"], dm.Members.Select(m => m.Key));
    }

    [Fact]
    public async Task Fsinfo_names_a_device_missing_from_sysfs_after_its_number_with_no_disks()
    {
        // HEAD tolerates ENOENT here (containers); any other realpath error fails the command.
        _tree.File("proc/self/mountinfo", "40 22 9:9 / /raid rw - ext4 /dev/md9 rw\n");
        _stats.Usages["/raid"] = new FilesystemUsage(1024, 8, 4, 2);
        var reply = await Succeeds(Filesystems(), "guest-get-fsinfo");
        Assert.Equal("""[{"name":"9:9","mountpoint":"/raid","type":"ext4","used-bytes":4096,"total-bytes":6144,"total-bytes-privileged":8192,"disk":[]}]""",
            Json.Text(reply));
    }

    [Fact]
    public async Task Fsinfo_fails_with_the_realpath_error_for_a_sysfs_loop()
    {
        _tree.Link("sys/dev/block/9:8", "9:8").File("proc/self/mountinfo", "40 22 9:8 / /loop rw - ext4 /dev/x rw\n");
        var error = await Error(Filesystems(), "guest-get-fsinfo");
        Assert.Equal($"realpath(\"{_tree.Path("sys/dev/block/9:8")}\"): Too many levels of symbolic links", error.Desc);
    }

    [Fact]
    public async Task Fsinfo_decodes_s390x_channel_io_and_virtio_mmio_disks()
    {
        const string ccw = "devices/css0/0.0.0002/0.0.0a00/virtio1/block/vdb";
        const string mmio = "devices/platform/a003e00.virtio_mmio/virtio4/host0/target0:0:1/0:0:1:2/block/sdx";
        _tree.BlockDevice($"sys/{ccw}", 253, 16).Link("sys/dev/block/253:16", $"../../{ccw}")
             .BlockDevice($"sys/{mmio}", 65, 112).Link("sys/dev/block/65:112", $"../../{mmio}")
             .File("proc/self/mountinfo", "40 22 253:16 / /ccw rw - ext4 /dev/vdb rw\n41 22 65:112 / /mmio rw - ext4 /dev/sdx rw\n");

        var reply = await Succeeds(Filesystems(), "guest-get-fsinfo");

        Assert.Equal(Json.Canonical("""
            [{"name":"sdx","mountpoint":"/mmio","type":"ext4","disk":[{"pci-controller":{"domain":-1,"bus":-1,"slot":-1,"function":-1},
               "bus-type":"scsi","bus":0,"target":1,"unit":2,"dev":"/dev/sdx"}]},
             {"name":"vdb","mountpoint":"/ccw","type":"ext4","disk":[{"pci-controller":{"domain":-1,"bus":-1,"slot":-1,"function":-1},
               "bus-type":"virtio","bus":0,"target":0,"unit":0,"dev":"/dev/vdb","ccw-address":{"cssid":0,"ssid":0,"subchno":2,"devno":2560}}]}]
            """), Json.Text(reply));
    }

    [Fact]
    public async Task Fsinfo_falls_back_to_proc_self_mounts()
    {
        File.Delete(_tree.Path("proc/self/mountinfo"));
        _tree.File("proc/self/mounts", """
            /dev/vda1 / ext4 rw,relatime 0 0
            proc /proc proc rw 0 0
            //srv/share /mnt/cifs cifs rw 0 0
            /srv /mnt/bind none rw,bind 0 0
            /dev/sdc /boot ext2 rw 0 0
            /dev/vda1 /again ext4 rw 0 0

            """);
        _stats.Devices["/dev/vda1"] = new DeviceNumber(252, 1);
        _stats.Devices["/dev/sdc"] = new DeviceNumber(8, 32);

        var reply = (JsonArray)await Succeeds(Filesystems(), "guest-get-fsinfo");

        Assert.Equal(["/boot", "/"], reply.Items.Cast<JsonObject>().Select(f => ((JsonString)f["mountpoint"]!).Value));
    }

    [Fact]
    public async Task Fsinfo_without_any_mount_table_fails_with_qemus_text()
    {
        File.Delete(_tree.Path("proc/self/mountinfo"));
        var error = await Error(Filesystems(), "guest-get-fsinfo");
        Assert.Equal($"failed to open mtab file: '{_tree.Path("proc/self/mounts")}'", error.Desc);
    }

    [Fact]
    public void Mount_names_decode_the_kernels_octal_escapes()
    {
        Assert.Equal("/mnt/a b\tc\nd\\e", MountTable.Decode(@"/mnt/a\040b\011c\012d\134e"));
        Assert.Equal(@"/x\y", MountTable.Decode(@"/x\\y"));
        Assert.Equal(@"/bad\9", MountTable.Decode(@"/bad\9"));
        Assert.Equal("/caf\u00e9", MountTable.Decode(@"/caf\303\251"));
    }

    [Fact]
    public async Task Disks_list_every_sized_disk_and_its_partitions_reversed()
    {
        var disks = new Dictionary<string, string[]>
        {
            ["vda"] =
            [
                $$$"""{"name":"/dev/vda","partition":false,"dependencies":[],"address":{{{Virtio}}}"dev":"/dev/vda"}}""",
                """{"name":"/dev/vda1","partition":true,"dependencies":["/dev/vda"]}""",
            ],
            ["sda"] =
            [
                $$$"""{"name":"/dev/sda","partition":false,"dependencies":[],"address":{{{Scsi}}}"dev":"/dev/sda"}}""",
                """{"name":"/dev/sda1","partition":true,"dependencies":["/dev/sda"]}""",
            ],
            ["nvme0n1"] =
            [
                $$$"""{"name":"/dev/nvme0n1","partition":false,"dependencies":[],"address":{{{NvmeAddress}}}"dev":"/dev/nvme0n1"},{{{Smart}}}}""",
                """{"name":"/dev/nvme0n1p1","partition":true,"dependencies":["/dev/nvme0n1"]}""",
            ],
            ["sdc"] = [$$$"""{"name":"/dev/sdc","partition":false,"address":{{{Sata}}}"dev":"/dev/sdc"}}"""],
            ["dm-0"] = ["""{"name":"/dev/dm-0","partition":false,"dependencies":["/dev/sda1"],"alias":"vg-root"}"""],
            ["loop0"] = [],
        };
        // qemu-ga prepends each disk, then each of its partitions, while reading /sys/block in readdir order.
        var inReaddirOrder = _tree.ReaddirOrder("sys/block").SelectMany(d => disks[d]).Reverse();
        var expected = Json.Canonical("[" + string.Join(",", inReaddirOrder) + "]");

        var nvme = new FakeNvmeHealth();
        nvme.Logs["/dev/nvme0n1"] = SmartLogPage();
        // Only NVMe disks are asked; a SCSI disk with a log page still has no smart member.
        nvme.Logs["/dev/sda"] = SmartLogPage();

        var reply = await Succeeds(Sys.ActorOf(DisksActor.Props(SettingsFor(_tree), nvme)), "guest-get-disks");

        Assert.Equal(expected, Json.Text(reply));
    }

    private const string Smart = """
        "smart":{"type":"nvme","critical-warning":4,"temperature":310,"available-spare":100,"available-spare-threshold":10,
        "percentage-used":3,"data-units-read-lo":1000,"data-units-read-hi":0,"data-units-written-lo":2000,"data-units-written-hi":1,
        "host-read-commands-lo":30,"host-read-commands-hi":0,"host-write-commands-lo":40,"host-write-commands-hi":0,
        "controller-busy-time-lo":5,"controller-busy-time-hi":0,"power-cycles-lo":6,"power-cycles-hi":0,
        "power-on-hours-lo":7,"power-on-hours-hi":0,"unsafe-shutdowns-lo":8,"unsafe-shutdowns-hi":0,
        "media-errors-lo":9,"media-errors-hi":0,"number-of-error-log-entries-lo":18446744073709551615,"number-of-error-log-entries-hi":0}
        """;

    /// <summary>A SMART / Health log page laid out as the NVMe specification has it.</summary>
    private static byte[] SmartLogPage()
    {
        var log = new byte[512];
        log[0] = 4;
        global::System.Buffers.Binary.BinaryPrimitives.WriteUInt16LittleEndian(log.AsSpan(1), 310);
        (log[3], log[4], log[5]) = ((byte)100, (byte)10, (byte)3);
        ulong[] counters = [1000, 0, 2000, 1, 30, 0, 40, 0, 5, 0, 6, 0, 7, 0, 8, 0, 9, 0, ulong.MaxValue, 0];
        for (var i = 0; i < counters.Length; i++)
            global::System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(log.AsSpan(32 + 8 * i), counters[i]);
        return log;
    }

    [Fact]
    public async Task Diskstats_fill_the_members_each_line_format_has()
    {
        _tree.File("proc/diskstats", """
               7       0 loop0 1 2 3 4
             252       0 vda 1 2 3 4 5 6 7 8 9 10 11
             252       1 vda1 10 20 30 40 50 60 70 80 90 100 110 120 130 140 150
               8       0 sda 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17
               8      32 sdc 1 2 3 4 5 6 7 8
            garbage line

            """);

        var reply = await Succeeds(Sys.ActorOf(DisksActor.Props(SettingsFor(_tree), new FakeNvmeHealth())), "guest-get-diskstats");

        Assert.Equal(Json.Canonical("""
            [{"name":"loop0","major":7,"minor":0,"stats":{"read-sectors":2,"read-ios":1,"write-sectors":4,"write-ios":3}},
             {"name":"vda","major":252,"minor":0,"stats":{"read-sectors":3,"read-ios":1,"read-merges":2,"write-sectors":7,"write-ios":5,
               "write-merges":6,"read-ticks":4,"write-ticks":8,"ios-pgr":9,"total-ticks":10,"weight-ticks":11}},
             {"name":"vda1","major":252,"minor":1,"stats":{"read-sectors":30,"read-ios":10,"read-merges":20,"write-sectors":70,"write-ios":50,
               "write-merges":60,"discard-sectors":140,"discard-ios":120,"discard-merges":130,"read-ticks":40,"write-ticks":80,
               "discard-ticks":150,"ios-pgr":90,"total-ticks":100,"weight-ticks":110}},
             {"name":"sda","major":8,"minor":0,"stats":{"read-sectors":3,"read-ios":1,"read-merges":2,"write-sectors":7,"write-ios":5,
               "write-merges":6,"discard-sectors":14,"discard-ios":12,"discard-merges":13,"flush-ios":16,"read-ticks":4,"write-ticks":8,
               "discard-ticks":15,"flush-ticks":17,"ios-pgr":9,"total-ticks":10,"weight-ticks":11}},
             {"name":"sdc","major":8,"minor":32,"stats":{}}]
            """), Json.Text(reply));
    }

    [Fact]
    public async Task Diskstats_without_the_file_fail_with_the_open_error()
    {
        var error = await Error(Sys.ActorOf(DisksActor.Props(SettingsFor(_tree), new FakeNvmeHealth())), "guest-get-diskstats");
        Assert.Equal($"open(\"{_tree.Path("proc/diskstats")}\"): No such file or directory", error.Desc);
    }

    public new void Dispose()
    {
        _stats.Dispose();
        _tree.Dispose();
        base.Dispose();
    }
}
