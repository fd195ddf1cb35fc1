using System.Globalization;
using System.Text.RegularExpressions;
using Agent.Actors.Platform;

namespace Agent.Actors.Commands.Storage;

/// <summary>
/// Reads block devices out of a sysfs tree the way qemu-ga does with libudev: the device node
/// from the uevent's DEVNAME, properties from the uevent and udev's database, and the disk
/// address decoded from the device's real sysfs path (PCI function, driver, SCSI target, ATA/SCSI host).
/// </summary>
public sealed partial class BlockDevices(string sysfs, string dev, string udevData)
{
    /// <summary>PCI drivers whose function is the disk controller; bridges above them are walked past.</summary>
    private static readonly HashSet<string> ControllerDrivers =
        ["ata_piix", "sym53c8xx", "virtio-pci", "ahci", "nvme", "xhci_hcd", "ehci-pci"];

    public string Sysfs { get; } = sysfs;

    /// <summary>&lt;sysfs&gt;/dev/block/M:m, the entry qemu resolves for a mounted device.</summary>
    public string DevBlockPath(DeviceNumber device) =>
        GuestFiles.Under(Sysfs, $"/dev/block/{device.Major}:{device.Minor}");

    /// <summary>The udev properties of a sysfs device: its uevent, then udev's database entry for b&lt;MAJOR&gt;:&lt;MINOR&gt;.</summary>
    public IReadOnlyDictionary<string, string> Properties(string syspath)
    {
        var props = new Dictionary<string, string>();
        foreach (var line in (GuestFiles.ReadOrNull(Path.Join(syspath, "uevent")) ?? "").Split('\n'))
        {
            var eq = line.IndexOf('=');
            if (eq > 0) props[line[..eq]] = line[(eq + 1)..];
        }
        if (props.TryGetValue("MAJOR", out var major) && props.TryGetValue("MINOR", out var minor))
        {
            foreach (var line in (GuestFiles.ReadOrNull(Path.Join(udevData, $"b{major}:{minor}")) ?? "").Split('\n'))
            {
                if (!line.StartsWith("E:", StringComparison.Ordinal)) continue;
                var eq = line.IndexOf('=');
                if (eq > 2) props[line[2..eq]] = line[(eq + 1)..];
            }
        }
        return props;
    }

    /// <summary>udev_device_get_devnode: the dev root joined with DEVNAME, or null for a device without one.</summary>
    public string? DevNode(string syspath) => DevNode(Properties(syspath));

    private string? DevNode(IReadOnlyDictionary<string, string> properties) =>
        properties.TryGetValue("DEVNAME", out var name) && name.Length > 0
            ? (name.StartsWith('/') ? name : Path.Join(dev, name))
            : null;

    /// <summary>
    /// The addresses of the disks under <paramref name="devpath"/>: for a virtual device (dm, md)
    /// those of its slaves, recursively, each prepended as qemu does; for a real one its own.
    /// <paramref name="name"/> receives the basename of the first resolved path.
    /// Throws <see cref="CommandException"/> with qemu's text when a path cannot be resolved.
    /// </summary>
    public void CollectAddresses(string devpath, ref string? name, List<DiskAddress> disks)
    {
        string syspath;
        try { syspath = GuestFiles.RealPath(devpath); }
        catch (PlatformException ex) when (ex.Errno == PlatformException.NoSuchFile)
        {
            // HEAD: a device missing from sysfs (containers) is named after the path and has no disks.
            name ??= Path.GetFileName(devpath);
            return;
        }
        catch (PlatformException ex) { throw new CommandException($"realpath(\"{devpath}\"): {ex.Message}"); }
        name ??= Path.GetFileName(syspath);

        if (!IsVirtual(syspath))
        {
            if (RealDeviceAddress(syspath) is { } address) disks.Insert(0, address);
            return;
        }
        var slaves = Path.Join(syspath, "slaves");
        if (!Directory.Exists(slaves)) return;
        foreach (var slave in GuestFiles.ListOrNull(slaves) ?? [])
            if (GuestFiles.IsSymlink(slave)) CollectAddresses(Path.Join(slaves, slave.Name), ref name, disks);
    }

    /// <summary>dm, md, loop and the like live under /devices/virtual/block/ and have no address of their own.</summary>
    public static bool IsVirtual(string syspath) => syspath.Contains("/devices/virtual/block/", StringComparison.Ordinal);

    /// <summary>
    /// One real device's address: PCI, s390x channel I/O, or non-PCI virtio. It is kept when the
    /// bus could be decoded, or when udev at least gave a device node or serial (then with
    /// bus-type "unknown" and an invalid PCI address).
    /// </summary>
    public DiskAddress? RealDeviceAddress(string syspath)
    {
        var props = Properties(syspath);
        var devNode = DevNode(props);
        var serial = props.TryGetValue("ID_SERIAL", out var s) && s.Length > 0 ? s : null;
        DiskAddress? decoded;
        if (syspath.Contains("/devices/pci", StringComparison.Ordinal)) decoded = DecodePci(syspath);
        else if (syspath.Contains("/devices/css", StringComparison.Ordinal)) decoded = DecodeCcw(syspath);
        else if (syspath.Contains("/virtio", StringComparison.Ordinal)) decoded = DecodeNonPciVirtio(syspath, DiskAddress.Unknown);
        else decoded = null;
        if (decoded is null)
            return devNode is null && serial is null ? null : DiskAddress.Unknown with { Serial = serial, Dev = devNode };
        return decoded with { Serial = serial, Dev = devNode };
    }

    [GeneratedRegex(@"\G[0-9a-fA-F]+/([0-9a-fA-F]+)\.([0-9a-fA-F]+)\.([0-9a-fA-F]+)/[0-9a-fA-F]+\.[0-9a-fA-F]+\.([0-9a-fA-F]+)/")]
    private static partial Regex CcwPath();

    /// <summary>/devices/css0/0.0.0000/0.0.0001/virtio0/...: subchannel id, then the device number; virtio on top is decoded too.</summary>
    private static DiskAddress? DecodeCcw(string syspath)
    {
        var at = syspath.IndexOf("/devices/css", StringComparison.Ordinal);
        var m = CcwPath().Match(syspath, at + "/devices/css".Length);
        if (!m.Success) return null;
        var address = DiskAddress.Unknown with
        {
            Ccw = new CcwAddress(Hex(m.Groups[1]), Hex(m.Groups[2]), Hex(m.Groups[3]), Hex(m.Groups[4])),
        };
        return syspath.IndexOf("/virtio", at, StringComparison.Ordinal) >= 0 ? DecodeNonPciVirtio(syspath, address) ?? address : address;
    }

    /// <summary>virtio without PCI (virtio-mmio, ccw): virtio-scsi gives bus/target/unit from the target path, virtio-blk nothing more.</summary>
    private static DiskAddress? DecodeNonPciVirtio(string syspath, DiskAddress address)
    {
        if (!syspath.Contains("/virtio", StringComparison.Ordinal) || !syspath.Contains("/block", StringComparison.Ordinal)) return null;
        var t = syspath.IndexOf("/target", StringComparison.Ordinal);
        if (t >= 0 && Target().Match(syspath, t + 7) is { Success: true } tm)
            return address with { BusType = "scsi", Bus = Dec(tm.Groups[1]), Target = Dec(tm.Groups[2]), Unit = Dec(tm.Groups[3]) };
        return address with { BusType = "virtio" };
    }

    [GeneratedRegex(@"\G[0-9a-fA-F]+:[0-9a-fA-F]+/([0-9a-fA-F]+):([0-9a-fA-F]+):([0-9a-fA-F]+)\.([0-9a-fA-F]+)")]
    private static partial Regex RootFunction();

    [GeneratedRegex(@"\G/([0-9a-fA-F]+):([0-9a-fA-F]+):([0-9a-fA-F]+)\.([0-9a-fA-F]+)")]
    private static partial Regex ChildFunction();

    [GeneratedRegex(@"\G\d+:\d+:\d+/\d+:(\d+):(\d+):(\d+)")]
    private static partial Regex Target();

    /// <summary>The PCI path decoding of qemu's build_guest_fsinfo_for_pci_dev; null for an unknown layout.</summary>
    private DiskAddress? DecodePci(string syspath)
    {
        var at = syspath.IndexOf("/devices/pci", StringComparison.Ordinal) + "/devices/pci".Length;
        var m = RootFunction().Match(syspath, at);
        if (!m.Success) return null;
        string? driver;
        while (true)
        {
            at = m.Index + m.Length;
            driver = DriverOf(syspath[..at]);
            if (driver is not null && ControllerDrivers.Contains(driver)) break;
            var next = ChildFunction().Match(syspath, at);
            if (!next.Success) return null;
            m = next;
        }
        var pci = new PciAddress(Hex(m.Groups[1]), Hex(m.Groups[2]), Hex(m.Groups[3]), Hex(m.Groups[4]));

        long[]? target = null;
        var t = syspath.IndexOf("/target", StringComparison.Ordinal);
        if (t >= 0 && Target().Match(syspath, t + 7) is { Success: true } tm)
            target = [Dec(tm.Groups[1]), Dec(tm.Groups[2]), Dec(tm.Groups[3])];

        var hostAt = syspath.IndexOf("/ata", StringComparison.Ordinal);
        var ata = hostAt >= 0;
        if (!ata) hostAt = syspath.IndexOf("/host", StringComparison.Ordinal);
        long? host = null;
        long[] hosts = [];
        if (hostAt >= 0 && LeadingNumber(syspath, hostAt + (ata ? 4 : 5)) is { } h)
        {
            host = h;
            hosts = Hosts(syspath[..hostAt], ata);
        }

        var hostIndex = host is null ? -1 : Array.IndexOf(hosts, host.Value);
        switch (driver)
        {
            case "ata_piix":
                // One host per IDE bus; target*:0:<unit>:0.
                if (target is null || hostIndex < 0) return null;
                return new DiskAddress(pci, "ide", hostIndex, 0, target[1], null, null);
            case "sym53c8xx":
                // LSI SCSI: target*:0:<unit>:0.
                return target is null ? null : new DiskAddress(pci, "scsi", 0, 0, target[1], null, null);
            case "virtio-pci":
                // virtio-scsi has targets (target*:0:0:<unit>); virtio-blk is one disk per function.
                return target is null
                    ? new DiskAddress(pci, "virtio", 0, 0, 0, null, null)
                    : new DiskAddress(pci, "scsi", 0, 0, target[2], null, null);
            case "ahci":
                // One host per SATA port.
                if (target is null || hostIndex < 0) return null;
                return new DiskAddress(pci, "sata", 0, 0, hostIndex, null, null);
            case "nvme":
                return new DiskAddress(pci, "nvme", 0, 0, 0, null, null);
            default:
                return new DiskAddress(pci, "usb", 0, 0, 0, null, null);
        }
    }

    private static string? DriverOf(string functionPath)
    {
        try
        {
            var target = new FileInfo(Path.Join(functionPath, "driver")).LinkTarget;
            return target is null ? null : Path.GetFileName(target.TrimEnd('/'));
        }
        catch (IOException) { return null; }
    }

    /// <summary>The sorted numbers of the ataN or hostN entries beside the device's host (at most 8, as qemu reads).</summary>
    private static long[] Hosts(string parent, bool ata)
    {
        var prefix = ata ? "ata" : "host";
        return (GuestFiles.ListOrNull(parent) ?? [])
            .Where(e => e.Name.StartsWith(prefix, StringComparison.Ordinal))
            .Select(e => LeadingNumber(e.Name, prefix.Length))
            .OfType<long>()
            .Take(8)
            .Order()
            .ToArray();
    }

    private static long? LeadingNumber(string s, int at)
    {
        var end = at;
        while (end < s.Length && char.IsAsciiDigit(s[end])) end++;
        return end > at && long.TryParse(s.AsSpan(at, end - at), NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : null;
    }

    private static long Hex(Group g) => long.Parse(g.ValueSpan, NumberStyles.HexNumber, CultureInfo.InvariantCulture);

    private static long Dec(Group g) => long.Parse(g.ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture);
}
