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
        var mountinfo = GuestFiles.Under(procfs, "/self/mountinfo");
        byte[] data;
        try { data = GuestFiles.ReadAllBytes(mountinfo); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return FromMounts(procfs, stats); }

        var mounts = new List<Mount>();
        foreach (var line in Encoding.Latin1.GetString(data).Split('\n'))
        {
            // id parent major:minor root mountpoint [optional fields...] - type source super-options
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length < 5 || !TryDevice(f[2], out var device)) continue;
            var dash = Array.IndexOf(f, "-", 5);
            if (dash < 0 || dash + 2 >= f.Length) continue;
            var type = Decode(f[dash + 1]);
            var source = Decode(f[dash + 2]);
            if (device.Major == 0)
            {
                // btrfs reports major 0 for its subvolumes; the source device tells the real one.
                if (type != "btrfs" || stats.BlockDevice(source) is not { } real) continue;
                device = real;
            }
            Add(mounts, new Mount(Decode(f[4]), type, device));
        }
        return mounts;
    }

    private static IReadOnlyList<Mount> FromMounts(string procfs, IFilesystemStats stats)
    {
        var path = GuestFiles.Under(procfs, "/self/mounts");
        byte[] data;
        try { data = GuestFiles.ReadAllBytes(path); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new MountTableException($"failed to open mtab file: '{path}'");
        }
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

    private static bool TryDevice(string text, out DeviceNumber device)
    {
        device = default;
        var colon = text.IndexOf(':');
        if (colon <= 0 || !uint.TryParse(text.AsSpan(0, colon), out var major) || !uint.TryParse(text.AsSpan(colon + 1), out var minor))
            return false;
        device = new DeviceNumber(major, minor);
        return true;
    }

    /// <summary>The kernel's octal escapes (\040 space, \011 tab, \012 newline, \134 backslash) and "\\", then UTF-8.</summary>
    public static string Decode(string latin1)
    {
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
