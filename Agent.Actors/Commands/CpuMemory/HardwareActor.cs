using System.Globalization;
using System.Text.RegularExpressions;
using Agent.Actors.Platform;
using Agent.Actors.Settings;

namespace Agent.Actors.Commands.CpuMemory;

/// <summary>
/// The read-only CPU and memory queries: guest-get-vcpus, guest-get-memory-blocks and
/// guest-get-memory-block-info.
/// </summary>
public sealed partial class HardwareActor(AgentSettings settings) : CommandActor
{
    public static readonly CommandFamily Family = CommandFamily.Of<GuestGetVcpusArguments, GuestGetMemoryBlocksArguments, GuestGetMemoryBlockInfoArguments>("hardware", ctx => Props(ctx.Settings));

    public static Props Props(AgentSettings settings) =>
        ActorConstructor.Props(() => new HardwareActor(settings));


    protected override void PreStart()
    {
        Handle<GuestGetVcpusArguments>(_ => Vcpus());
        Handle<GuestGetMemoryBlocksArguments>(_ => MemoryBlocks());
        Handle<GuestGetMemoryBlockInfoArguments>(_ => MemoryBlockInfo());
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
            return global::System.Text.Encoding.Latin1.GetString(GuestFiles.ReadAllBytes(dir + name, max));
        }
        catch (FileNotFoundException) { return null; }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CommandException($"open sysfs file \"{name}\": {GuestFiles.ErrnoText(ex)}");
        }
    }

    /// <summary>atoi/strtoul: the leading decimal digits, 0 when there are none.</summary>
    internal static long LeadingDecimal(string s)
    {
        var digits = new string(s.TakeWhile(char.IsAsciiDigit).ToArray());
        return digits.Length == 0 ? 0 : long.Parse(digits, CultureInfo.InvariantCulture);
    }
}
