using System.Text;

namespace Agent.Actors.Platform;

/// <summary>A mount qemu-ga would report, freeze or trim: directory, filesystem type and the block device's number.</summary>
public sealed record Mount(string Directory, string Type, DeviceNumber Device);

/// <summary>Neither mount list could be read; the message is qemu-ga's text for it.</summary>
public sealed class MountTableException(string message) : Exception(message);

/// <summary>
/// qemu-ga's mount list (HEAD ≥ 10.0): &lt;procfs&gt;/self/mountinfo, falling back to
/// &lt;procfs&gt;/self/mounts; only block devices (major ≠ 0, btrfs resolved through its source
/// device), and a device already listed is skipped, which drops bind mounts and repeated mounts.
/// </summary>
public static class MountTable
{
    /// <exception cref="MountTableException">neither &lt;procfs&gt;/self/mountinfo nor /self/mounts can be read.</exception>
    public static IReadOnlyList<Mount> Read(string procfs, IFilesystemStats stats)
    {
        if (GuestFiles.ReadBytesOrNull(GuestFiles.Under(procfs, "/self/mountinfo")) is not { } data) return FromMounts(procfs, stats);

        var mounts = new List<Mount>();
        var text = Encoding.Latin1.GetString(data);
        // Fields are cut as spans and only the kept mounts' decoded: most lines (proc, sysfs, tmpfs...) are skipped.
        Span<Range> f = stackalloc Range[MaxFields];
        foreach (var lineRange in text.AsSpan().Split('\n'))
        {
            // id parent major:minor root mountpoint [optional fields...] - type source super-options
            var line = text.AsSpan(lineRange);
            var count = line.Split(f, ' ', StringSplitOptions.RemoveEmptyEntries);
            if (count < 5 || !TryDevice(line[f[2]], out var device)) continue;
            var dash = -1;
            for (var i = 5; i < count && dash < 0; i++)
                if (line[f[i]] is "-") dash = i;
            if (dash < 0 || dash + 2 >= count) continue;
            // The kernel escapes spaces, so a line has about a dozen fields; past MaxFields the last range
            // would hold the rest of the line, and such a line is skipped.
            if (count == MaxFields) continue;
            var type = Decode(line[f[dash + 1]]);
            if (device.Major == 0)
            {
                // btrfs reports major 0 for its subvolumes; the source device tells the real one.
                if (type != "btrfs" || stats.BlockDevice(Decode(line[f[dash + 2]])) is not { } real) continue;
                device = real;
            }
            Add(mounts, new Mount(Decode(line[f[4]]), type, device));
        }
        return mounts;
    }

    private const int MaxFields = 64;

    private static IReadOnlyList<Mount> FromMounts(string procfs, IFilesystemStats stats)
    {
        var path = GuestFiles.Under(procfs, "/self/mounts");
        var data = GuestFiles.ReadBytesOrNull(path) ?? throw new MountTableException($"failed to open mtab file: '{path}'");
        var mounts = new List<Mount>();
        foreach (var line in Encoding.Latin1.GetString(data).Split('\n'))
        {
            // source dir type options freq passno; sources not starting with '/' are pseudo or network filesystems.
            var f = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            if (f.Length < 3) continue;
            var source = Decode(f[0]);
            var type = Decode(f[2]);
            if (!source.StartsWith('/') || type is "smbfs" or "cifs") continue;
            if (stats.BlockDevice(source) is not { } device) continue;
            Add(mounts, new Mount(Decode(f[1]), type, device));
        }
        return mounts;
    }

    private static void Add(List<Mount> mounts, Mount mount)
    {
        if (mounts.Exists(m => m.Device == mount.Device)) return;
        mounts.Add(mount);
    }

    private static bool TryDevice(ReadOnlySpan<char> text, out DeviceNumber device)
    {
        device = default;
        var colon = text.IndexOf(':');
        if (colon <= 0 || !uint.TryParse(text[..colon], out var major) || !uint.TryParse(text[(colon + 1)..], out var minor))
            return false;
        device = new DeviceNumber(major, minor);
        return true;
    }

    /// <summary>The kernel's octal escapes (\040 space, \011 tab, \012 newline, \134 backslash) and "\\", then UTF-8.</summary>
    public static string Decode(string latin1) => Decode(latin1.AsSpan());

    private static string Decode(ReadOnlySpan<char> latin1)
    {
        if (!latin1.ContainsAnyExceptInRange((char)0x20, (char)0x7E) && !latin1.Contains('\\')) return latin1.ToString();
        var bytes = new List<byte>(latin1.Length);
        for (var i = 0; i < latin1.Length; i++)
        {
            var c = latin1[i];
            if (c == '\\' && i + 1 < latin1.Length && latin1[i + 1] == '\\')
            {
                bytes.Add((byte)'\\');
                i++;
            }
            else if (c == '\\' && i + 3 < latin1.Length && latin1[i + 1] is >= '0' and <= '3' &&
                     latin1[i + 2] is >= '0' and <= '7' && latin1[i + 3] is >= '0' and <= '7')
            {
                bytes.Add((byte)((latin1[i + 1] - '0') * 64 + (latin1[i + 2] - '0') * 8 + (latin1[i + 3] - '0')));
                i += 3;
            }
            else bytes.Add((byte)c);
        }
        return Encoding.UTF8.GetString(bytes.ToArray());
    }
}
