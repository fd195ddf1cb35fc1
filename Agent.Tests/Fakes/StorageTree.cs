using Agent.Actors.Platform;

namespace Agent.Tests.Fakes;

/// <summary>
/// A guest's block layer in a fake sysfs: virtio-blk vda (0000:00:04.0), virtio-scsi sda LUN 3
/// (0000:00:05.0), NVMe nvme0n1 behind a PCIe root port (0000:00:1c.0 → 0000:01:00.0), AHCI
/// sdc on port ata3 (0000:00:1f.2), an LVM dm-0 on sda1 and an empty loop0; udev's database
/// holds serials and the dm name. The mount table adds a bind mount, network, tmpfs and btrfs mounts.
/// </summary>
public static class StorageTree
{
    public const string Vda = "devices/pci0000:00/0000:00:04.0/virtio2/block/vda";
    public const string Sda = "devices/pci0000:00/0000:00:05.0/virtio3/host2/target2:0:0/2:0:0:3/block/sda";
    public const string Nvme = "devices/pci0000:00/0000:00:1c.0/0000:01:00.0/nvme/nvme0/nvme0n1";
    public const string Sdc = "devices/pci0000:00/0000:00:1f.2/ata3/host2/target2:0:0/2:0:0:0/block/sdc";
    public const string Dm = "devices/virtual/block/dm-0";
    public const string Loop = "devices/virtual/block/loop0";

    public const string MountInfo = """
        22 1 252:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw,errors=remount-ro
        23 22 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw
        24 22 259:1 / /data rw,relatime shared:2 - xfs /dev/nvme0n1p1 rw
        25 22 0:40 / /mnt/nfs rw,relatime shared:3 - nfs4 server:/export rw,vers=4.2
        26 22 252:1 /srv /mnt/bind rw,relatime shared:1 - ext4 /dev/vda1 rw
        27 22 254:0 / /mnt/with\040space rw,relatime shared:4 - ext4 /dev/mapper/vg-root rw
        28 22 0:45 / /mnt/btrfs rw,relatime shared:5 - btrfs /dev/sda rw
        29 22 0:33 / /run rw,nosuid,nodev shared:6 - tmpfs tmpfs rw
        30 22 0:50 / /mnt/cifs rw,relatime shared:7 - cifs //srv/share rw
        31 22 8:32 / /boot rw,relatime shared:8 - ext2 /dev/sdc rw

        """;

    public static FakeTree Build(FakeTree t)
    {
        foreach (var driver in new[] { "virtio-pci", "nvme", "pcieport", "ahci" }) t.Dir($"sys/bus/pci/drivers/{driver}");
        t.Link("sys/devices/pci0000:00/0000:00:04.0/driver", "../../../bus/pci/drivers/virtio-pci")
         .Link("sys/devices/pci0000:00/0000:00:05.0/driver", "../../../bus/pci/drivers/virtio-pci")
         .Link("sys/devices/pci0000:00/0000:00:1c.0/driver", "../../../bus/pci/drivers/pcieport")
         .Link("sys/devices/pci0000:00/0000:00:1c.0/0000:01:00.0/driver", "../../../../bus/pci/drivers/nvme")
         .Link("sys/devices/pci0000:00/0000:00:1f.2/driver", "../../../bus/pci/drivers/ahci");
        foreach (var port in new[] { "ata1", "ata2", "ata4" }) t.Dir($"sys/devices/pci0000:00/0000:00:1f.2/{port}");

        t.BlockDevice($"sys/{Vda}", 252, 0).Dir($"sys/{Vda}/slaves").Dir($"sys/{Vda}/queue").BlockDevice($"sys/{Vda}/vda1", 252, 1)
         .BlockDevice($"sys/{Sda}", 8, 0).Dir($"sys/{Sda}/slaves").BlockDevice($"sys/{Sda}/sda1", 8, 1)
         .BlockDevice($"sys/{Nvme}", 259, 0).Dir($"sys/{Nvme}/slaves").Dir($"sys/{Nvme}/mq").BlockDevice($"sys/{Nvme}/nvme0n1p1", 259, 1)
         .BlockDevice($"sys/{Sdc}", 8, 32)
         .BlockDevice($"sys/{Dm}", 254, 0).Link($"sys/{Dm}/slaves/sda1", $"../../../../{Sda["devices/".Length..]}/sda1")
         .BlockDevice($"sys/{Loop}", 7, 0, size: "0").Dir($"sys/{Loop}/slaves");

        foreach (var (dev, path) in new[]
                 {
                     ("252:0", Vda), ("252:1", Vda + "/vda1"), ("8:0", Sda), ("8:1", Sda + "/sda1"),
                     ("259:0", Nvme), ("259:1", Nvme + "/nvme0n1p1"), ("8:32", Sdc), ("254:0", Dm), ("7:0", Loop),
                 })
            t.Link($"sys/dev/block/{dev}", $"../../{path}");
        foreach (var path in new[] { Vda, Sda, Nvme, Sdc, Dm, Loop })
            t.Link($"sys/block/{Path.GetFileName(path)}", $"../{path}");

        return t.File("run/udev/data/b252:0", "S:disk/by-id/virtio-vd-serial-1\nE:ID_SERIAL=vd-serial-1\n")
                .File("run/udev/data/b252:1", "E:ID_SERIAL=vd-serial-1\nE:ID_PART_ENTRY_NUMBER=1\n")
                .File("run/udev/data/b8:0", "E:ID_SERIAL=0QEMU_QEMU_HARDDISK_drive-scsi0-0-0-3\n")
                .File("run/udev/data/b8:1", "E:ID_SERIAL=0QEMU_QEMU_HARDDISK_drive-scsi0-0-0-3\n")
                .File("run/udev/data/b259:1", "E:ID_SERIAL=QEMU NVMe Ctrl_nvme-serial\n")
                .File("run/udev/data/b254:0", "E:DM_NAME=vg-root\nE:ID_SERIAL=\n")
                .File("proc/self/mountinfo", MountInfo);
    }

    public static FakeFilesystemStats Stats()
    {
        var stats = new FakeFilesystemStats();
        stats.Usages["/"] = new FilesystemUsage(4096, 1000, 400, 300);
        stats.Usages["/data"] = new FilesystemUsage(512, 10, 0, 0);
        stats.Usages["/boot"] = new FilesystemUsage(1024, 100, 50, 40);
        stats.Usages["/mnt/btrfs"] = new FilesystemUsage(4096, 1, 1, 1);
        stats.Devices["/dev/sda"] = new DeviceNumber(8, 0);
        return stats;
    }
}
