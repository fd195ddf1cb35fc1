using System.Globalization;
using System.Text.RegularExpressions;
using Agent.Actors.Platform;
using Agent.Actors.Settings;
using Agent.Protocol.Json;
using Akka.Actor;

namespace Agent.Actors.Commands.CpuMemory;

/// <summary>
/// The read-only CPU and memory queries: guest-get-vcpus, guest-get-memory-blocks,
/// guest-get-memory-block-info, guest-get-cpustats and guest-get-load.
/// </summary>
public sealed partial class HardwareActor(AgentSettings settings, IKernel kernel) : CommandActor
{
    public static readonly CommandFamily Family = new("hardware", ["guest-get-vcpus", "guest-get-memory-blocks", "guest-get-memory-block-info", "guest-get-cpustats", "guest-get-load"], ctx => Props(ctx.Settings, LinuxKernel.Instance));

    public static Props Props(AgentSettings settings, IKernel kernel) =>
        Akka.Actor.Props.Create(() => new HardwareActor(settings, kernel));


    protected override void PreStart()
    {
        Handle("guest-get-vcpus", () => Vcpus());
        Handle("guest-get-memory-blocks", () => MemoryBlocks());
        Handle("guest-get-memory-block-info", () => MemoryBlockInfo());
        Handle("guest-get-cpustats", () => CpuStats());
        Handle("guest-get-load", () => Load());
    }

    private string CpuDir => GuestFiles.Under(settings.Paths.Sysfs, "/devices/system/cpu");

    private string MemoryDir => GuestFiles.Under(settings.Paths.Sysfs, "/devices/system/memory/");

    [GeneratedRegex(@"^cpu([+-]?\d+)")]
    private static partial Regex CpuEntry();

    /// <summary>
    /// cpuN entries in readdir order. A cpu without an "online" file (usually cpu0) is online and
    /// cannot be offlined; otherwise online is the file's first byte ≠ '0', and can-offline is true.
    /// </summary>
    private JsonValue Vcpus()
    {
        var entries = GuestFiles.ListOrNull(CpuDir)
            ?? throw new CommandException($"failed to list entries: {CpuDir}: No such file or directory");
        var vcpus = new List<JsonValue>();
        foreach (var entry in entries)
        {
            var m = CpuEntry().Match(entry.Name);
            if (!m.Success || !long.TryParse(m.Groups[1].Value, CultureInfo.InvariantCulture, out var id)) continue;
            var dir = $"{CpuDir}/cpu{id}/";
            if (!Directory.Exists(dir)) throw new CommandException($"open(\"{dir}\"): No such file or directory");
            bool online = true, canOffline = false;
            if (File.Exists(dir + "online"))
            {
                byte[] status;
                try { status = GuestFiles.ReadAllBytes(dir + "online", max: 1); }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    throw new CommandException($"open(\"{dir}/online\"): {GuestFiles.ErrnoText(ex)}");
                }
                if (status.Length == 0) throw new CommandException($"pread(\"{dir}/online\"): unexpected EOF");
                online = status[0] != (byte)'0';
                canOffline = true;
            }
            vcpus.Add(JsonObject.Of(
                ("logical-id", new JsonInt(id)),
                ("online", JsonBool.Of(online)),
                ("can-offline", JsonBool.Of(canOffline))));
        }
        return new JsonArray(vcpus.ToArray());
    }

    /// <summary>
    /// memoryN directories in readdir order. online = state begins with "online"; can-offline =
    /// removable ≠ '0'. A block without "state" counts as online and fixed, one without
    /// "removable" as fixed. No memory directory at all is an empty list; no blocks in it an error.
    /// </summary>
    private JsonValue MemoryBlocks()
    {
        if (!Directory.Exists(MemoryDir)) return JsonArray.Empty;
        var entries = GuestFiles.ListOrNull(MemoryDir)
            ?? throw new CommandException($"Can't open directory \"{MemoryDir}\": Permission denied");
        var blocks = new List<JsonValue>();
        foreach (var entry in entries)
        {
            if (!entry.Name.StartsWith("memory", StringComparison.Ordinal) || entry is not DirectoryInfo || GuestFiles.IsSymlink(entry)) continue;
            var index = LeadingDecimal(entry.Name[6..]);
            var dir = $"{MemoryDir}memory{index}/";
            if (!Directory.Exists(dir)) throw new CommandException($"open(\"{dir}\"): No such file or directory");
            var state = SysfsFile(dir, "state", 10);
            bool online, canOffline;
            if (state is null)
            {
                online = true;
                canOffline = false;
            }
            else
            {
                online = state.StartsWith("online", StringComparison.Ordinal);
                var removable = SysfsFile(dir, "removable", 1);
                canOffline = removable is not null && removable != "0";
            }
            blocks.Add(JsonObject.Of(
                ("phys-index", new JsonInt(index)),
                ("online", JsonBool.Of(online)),
                ("can-offline", JsonBool.Of(canOffline))));
        }
        if (blocks.Count == 0) throw new CommandException("guest reported zero memory blocks!");
        return new JsonArray(blocks.ToArray());
    }

    /// <summary>&lt;memory&gt;/block_size_bytes, hex.</summary>
    private JsonValue MemoryBlockInfo()
    {
        if (!Directory.Exists(MemoryDir)) throw new CommandException($"open(\"{MemoryDir}\"): No such file or directory");
        var text = SysfsFile(MemoryDir, "block_size_bytes", 20)
            ?? throw new CommandException("open sysfs file \"block_size_bytes\": No such file or directory");
        var hex = new string(text.Trim().TakeWhile(Uri.IsHexDigit).ToArray());
        var size = hex.Length == 0 ? 0 : long.Parse(hex, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        return JsonObject.Of(("size", new JsonInt(size)));
    }

    /// <summary>
    /// Up to <paramref name="max"/> bytes of a sysfs attribute; null when it does not exist.
    /// Any other failure is the command's error, in qemu-ga's words.
    /// </summary>
    private static string? SysfsFile(string dir, string name, int max)
    {
        try
        {
            return System.Text.Encoding.Latin1.GetString(GuestFiles.ReadAllBytes(dir + name, max));
        }
        catch (FileNotFoundException) { return null; }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CommandException($"open sysfs file \"{name}\": {GuestFiles.ErrnoText(ex)}");
        }
    }

    private static readonly string[] CpuColumns = ["user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal", "guest", "guestnice"];

    /// <summary>
    /// The per-cpu lines of &lt;procfs&gt;/stat ("cpuN ..."; the aggregate line is skipped), in ms.
    /// Columns beyond idle appear as the kernel provides them: iowait, then irq with softirq, steal, guest, guestnice.
    /// </summary>
    private JsonValue CpuStats()
    {
        var path = GuestFiles.Under(settings.Paths.Procfs, "/stat");
        string[] lines;
        try { lines = GuestFiles.ReadLines(path); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CommandException($"open(\"{path}\"): {GuestFiles.ErrnoText(ex)}");
        }
        var ticks = kernel.ClockTicksPerSecond;
        var result = new List<JsonValue>();
        foreach (var line in lines)
        {
            var f = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            if (f.Length == 0 || !f[0].StartsWith("cpu", StringComparison.Ordinal) || f[0].Length == 3) continue;
            var values = f.Skip(1).Take(10).TakeWhile(x => ulong.TryParse(x, out _)).Select(ulong.Parse).ToArray();
            // sscanf's count includes the name: fewer than 4 values ends the walk, as in qemu-ga.
            if (values.Length < 4) break;
            var scanned = values.Length + 1;
            var members = new List<(string, JsonValue?)>
            {
                ("type", new JsonString("linux")),
                ("cpu", new JsonInt(LeadingDecimal(f[0][3..]))),
            };
            for (var i = 0; i < CpuColumns.Length; i++)
            {
                var present = i switch
                {
                    < 4 => true,
                    4 => scanned > 5,
                    5 or 6 => scanned > 6,
                    7 => scanned > 8,
                    8 => scanned > 9,
                    _ => scanned > 10,
                };
                // irq and softirq are reported together; a line ending after irq gives softirq 0, as qemu's zeroed variable does.
                if (present) members.Add((CpuColumns[i], UInt64(i < values.Length ? values[i] * 1000 / (ulong)ticks : 0)));
            }
            result.Add(JsonObject.Of(members.ToArray()));
        }
        return new JsonArray(result.ToArray());
    }

    /// <summary>getloadavg() reads the first three fields of &lt;procfs&gt;/loadavg.</summary>
    private JsonValue Load()
    {
        var path = GuestFiles.Under(settings.Paths.Procfs, "/loadavg");
        string text;
        try { text = System.Text.Encoding.UTF8.GetString(GuestFiles.ReadAllBytes(path)); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CommandException($"cannot query load average: {GuestFiles.ErrnoText(ex)}");
        }
        var f = text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (f.Length < 3 || !f.Take(3).All(x => double.TryParse(x, CultureInfo.InvariantCulture, out _)))
            throw new CommandException("cannot query load average: Invalid argument");
        return JsonObject.Of(
            ("load1m", new JsonDouble(double.Parse(f[0], CultureInfo.InvariantCulture))),
            ("load5m", new JsonDouble(double.Parse(f[1], CultureInfo.InvariantCulture))),
            ("load15m", new JsonDouble(double.Parse(f[2], CultureInfo.InvariantCulture))));
    }

    /// <summary>atoi/strtoul: the leading decimal digits, 0 when there are none.</summary>
    private static long LeadingDecimal(string s)
    {
        var digits = new string(s.TakeWhile(char.IsAsciiDigit).ToArray());
        return digits.Length == 0 ? 0 : long.Parse(digits, CultureInfo.InvariantCulture);
    }

    private static JsonValue UInt64(ulong v) => Storage.FilesystemsActor.Number(v);
}
