namespace Agent.Actors.Platform;

/// <summary>The statvfs numbers guest-get-fsinfo turns into used/total bytes.</summary>
public sealed record FilesystemUsage(ulong FragmentSize, ulong Blocks, ulong BlocksFree, ulong BlocksAvailable);

public readonly record struct DeviceNumber(uint Major, uint Minor);

/// <summary>Calls on mounted filesystems and device nodes; statvfs can hang on a dead network mount.</summary>
public interface IFilesystemStats
{
    /// <summary>statvfs(<paramref name="mountpoint"/>), or null when it fails.</summary>
    FilesystemUsage? Usage(string mountpoint);

    /// <summary>The device number of <paramref name="path"/> if it is a block device; null if it is not or cannot be stat'ed.</summary>
    DeviceNumber? BlockDevice(string path);
}

public sealed unsafe class LinuxFilesystemStats : IFilesystemStats
{
    public static readonly LinuxFilesystemStats Instance = new();

    private LinuxFilesystemStats() { }

    public FilesystemUsage? Usage(string mountpoint) =>
        Native.StatVfs(mountpoint, out var b) == 0
            ? new FilesystemUsage(b.FragmentSize, b.Blocks, b.BlocksFree, b.BlocksAvailable)
            : null;

    public DeviceNumber? BlockDevice(string path)
    {
        var buf = stackalloc byte[Native.StatxBufferSize];
        if (Native.Statx(Native.AtFdCwd, path, 0, Native.StatxType, buf) != 0) return null;
        var mode = *(ushort*)(buf + Native.StatxModeOffset);
        if ((mode & Native.FileTypeMask) != Native.BlockDeviceType) return null;
        return new DeviceNumber(*(uint*)(buf + Native.StatxRdevMajorOffset), *(uint*)(buf + Native.StatxRdevMinorOffset));
    }
}
