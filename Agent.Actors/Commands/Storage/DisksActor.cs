using System.Globalization;
using Agent.Actors.Platform;
using Agent.Actors.Settings;

namespace Agent.Actors.Commands.Storage;

/// <summary>guest-get-disks (&lt;sysfs&gt;/block) and guest-get-diskstats (&lt;procfs&gt;/diskstats).</summary>
public sealed class DisksActor(AgentSettings settings, INvmeHealth nvme) : CommandActor
{
    public static readonly CommandFamily Family = CommandFamily.Of<GuestGetDisksArguments, GuestGetDiskstatsArguments>("disks", ctx => Props(ctx.Settings, LinuxNvmeHealth.Instance));

    public static Props Props(AgentSettings settings, INvmeHealth nvme) => ActorConstructor.Props(() => new DisksActor(settings, nvme));

    private readonly BlockDevices _devices = new(settings.Paths.Sysfs, settings.Paths.Dev, settings.Inventory.UdevData);

    protected override void PreStart()
    {
        Handle<GuestGetDisksArguments>(_ => Disks());
        Handle<GuestGetDiskstatsArguments>(_ => DiskStats());
    }

    /// <summary>
    /// Every non-empty disk linked in /sys/block, then its partitions, each prepended, so the
    /// whole list comes out reversed. Address errors are ignored, as qemu-ga ignores them.
    /// </summary>
    private JsonValue Disks()
    {
        var block = GuestFiles.Under(settings.Paths.Sysfs, "/block");
        var entries = GuestFiles.ListOrNull(block)
            ?? throw new CommandException($"Can't open directory \"{Path.Join(settings.Paths.Sysfs, "block")}\": No such file or directory");
        var result = new List<JsonValue>();
        foreach (var entry in entries)
        {
            if (!GuestFiles.IsSymlink(entry)) continue;
            var diskDir = Path.Join(block, entry.Name);
            var size = GuestFiles.ReadOrNull(Path.Join(diskDir, "size"));
            if (size is null || size == "0\n") continue;
            if (_devices.DevNode(diskDir) is not { } devNode) continue;

            var props = _devices.Properties(diskDir);
            DiskAddress? address = null;
            try
            {
                if (!BlockDevices.IsVirtual(GuestFiles.RealPath(diskDir)))
                {
                    var disks = new List<DiskAddress>();
                    string? name = null;
                    _devices.CollectAddresses(diskDir, ref name, disks);
                    address = disks.FirstOrDefault();
                }
            }
            catch (Exception ex) when (ex is PlatformException or CommandException) { }

            result.Insert(0, JsonObject.Of(
                ("name", new JsonString(devNode)),
                ("partition", JsonBool.False),
                ("dependencies", Dependencies(diskDir)),
                ("address", address?.ToJson()),
                ("alias", props.TryGetValue("DM_NAME", out var alias) && alias.Length > 0 ? new JsonString(alias) : null),
                ("smart", address?.BusType == "nvme" ? Smart(devNode) : null)));

            foreach (var part in GuestFiles.ListOrNull(diskDir) ?? [])
            {
                if (part is not DirectoryInfo || GuestFiles.IsSymlink(part) || !IsPartitionOf(entry.Name, part.Name)) continue;
                if (_devices.DevNode(Path.Join(diskDir, part.Name)) is not { } partNode) continue;
                result.Insert(0, JsonObject.Of(
                    ("name", new JsonString(partNode)),
                    ("partition", JsonBool.True),
                    ("dependencies", new JsonArray([new JsonString(devNode)]))));
            }
        }
        return new JsonArray(result.ToArray());
    }

    /// <summary>GuestDiskSmart of an NVMe disk, absent when the log page cannot be read (qemu-ga only logs that).</summary>
    private JsonObject? Smart(string devNode)
    {
        if (nvme.SmartLog(devNode) is not { Length: >= LinuxNvmeHealth.LogSize } log) return null;
        return JsonObject.Of(NvmeSmartLog.Fields(log)
            .Select(f => (f.Name, (JsonValue?)FilesystemsActor.Number(f.Value)))
            .Prepend(("type", new JsonString("nvme")))
            .ToArray());
    }

    /// <summary>The device nodes of slaves/ in reverse readdir order; absent when there is no slaves directory.</summary>
    private JsonArray? Dependencies(string diskDir)
    {
        var slaves = Path.Join(diskDir, "slaves");
        if (GuestFiles.ListOrNull(slaves) is not { } entries) return null;
        var deps = new List<JsonValue>();
        foreach (var e in entries)
            if (_devices.DevNode(Path.Join(slaves, e.Name)) is { } node) deps.Insert(0, new JsonString(node));
        return new JsonArray(deps.ToArray());
    }

    /// <summary>vda → vda1; nvme0n1 → nvme0n1p1: the disk's name, then a digit or 'p' and a digit.</summary>
    private static bool IsPartitionOf(string disk, string name) =>
        name.Length > disk.Length && name.StartsWith(disk, StringComparison.Ordinal) &&
        (char.IsAsciiDigit(name[disk.Length]) ||
         (name[disk.Length] == 'p' && name.Length > disk.Length + 1 && char.IsAsciiDigit(name[disk.Length + 1])));

    private static readonly string[] Ios14 =
    [
        "read-ios", "read-merges", "read-sectors", "read-ticks",
        "write-ios", "write-merges", "write-sectors", "write-ticks",
        "ios-pgr", "total-ticks", "weight-ticks",
    ];

    /// <summary>Schema order of GuestDiskStats members.</summary>
    private static readonly string[] StatsOrder =
    [
        "read-sectors", "read-ios", "read-merges", "write-sectors", "write-ios", "write-merges",
        "discard-sectors", "discard-ios", "discard-merges", "flush-ios", "read-ticks", "write-ticks",
        "discard-ticks", "flush-ticks", "ios-pgr", "total-ticks", "weight-ticks",
    ];

    /// <summary>
    /// One entry per line with at least 7 fields. The old 7-field format has only read/write ios
    /// and sectors; 14+ fields the full set, 18+ adds discards, 20+ adds flushes.
    /// </summary>
    private JsonValue DiskStats()
    {
        var path = GuestFiles.Under(settings.Paths.Procfs, "/diskstats");
        string[] lines;
        try { lines = GuestFiles.ReadLines(path); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CommandException($"open(\"{path}\"): {GuestFiles.ErrnoText(ex)}");
        }
        var result = new List<JsonValue>();
        foreach (var line in lines)
        {
            var f = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            var count = ScannedFields(f);
            if (count < 7) continue;
            var v = f.Skip(3).Take(count - 3).Select(x => ulong.Parse(x, CultureInfo.InvariantCulture)).ToArray();
            var stats = new Dictionary<string, ulong>();
            if (count == 7)
            {
                stats["read-ios"] = v[0];
                stats["read-sectors"] = v[1];
                stats["write-ios"] = v[2];
                stats["write-sectors"] = v[3];
            }
            if (count >= 14)
                for (var i = 0; i < Ios14.Length; i++) stats[Ios14[i]] = v[i];
            if (count >= 18)
            {
                stats["discard-ios"] = v[11];
                stats["discard-merges"] = v[12];
                stats["discard-sectors"] = v[13];
                stats["discard-ticks"] = v[14];
            }
            if (count >= 20)
            {
                stats["flush-ios"] = v[15];
                stats["flush-ticks"] = v[16];
            }
            result.Add(JsonObject.Of(
                ("name", new JsonString(f[2])),
                ("major", new JsonInt(long.Parse(f[0], CultureInfo.InvariantCulture))),
                ("minor", new JsonInt(long.Parse(f[1], CultureInfo.InvariantCulture))),
                ("stats", JsonObject.Of(StatsOrder
                    .Where(stats.ContainsKey)
                    .Select(k => (k, (JsonValue?)FilesystemsActor.Number(stats[k]))).ToArray()))));
        }
        return new JsonArray(result.ToArray());
    }

    /// <summary>How many of qemu's 20 sscanf conversions succeed: major, minor, name, then numbers until the first non-number.</summary>
    private static int ScannedFields(string[] f)
    {
        if (f.Length < 3 || !uint.TryParse(f[0], out _) || !uint.TryParse(f[1], out _)) return 0;
        var count = 3;
        while (count < f.Length && count < 20 && ulong.TryParse(f[count], out _)) count++;
        return count;
    }
}
