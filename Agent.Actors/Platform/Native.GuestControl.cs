using System.Runtime.InteropServices;

namespace Agent.Actors.Platform;

/// <summary>
/// libc calls that change the guest: filesystem freeze/thaw/trim ioctls, the wall clock, file
/// ownership. Only the Linux* implementations of <see cref="IFilesystemControl"/> and
/// <see cref="ISystemTimeSetter"/> call the first two, so tests never reach them.
/// </summary>
internal static partial class Native
{
    public const int EBUSY = 16;
    public const int ENOTTY = 25;
    public const int EOPNOTSUPP = 95;

    public const int O_DIRECTORY = 0x10000;

    // linux/fs.h: _IOWR('X', 119, int), _IOWR('X', 120, int), _IOWR('X', 121, struct fstrim_range).
    public const ulong FIFREEZE = 0xC0045877;
    public const ulong FITHAW = 0xC0045878;
    public const ulong FITRIM = 0xC0185879;

    [StructLayout(LayoutKind.Sequential)]
    public struct FstrimRange
    {
        public ulong Start;
        public ulong Length;
        public ulong MinimumLength;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct TimeVal
    {
        public long Seconds;
        public long Microseconds;
    }

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    public static partial int IoctlInt(int fd, ulong request, nint argument);

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    public static partial int IoctlTrim(int fd, ulong request, ref FstrimRange range);

    [LibraryImport("libc", EntryPoint = "settimeofday", SetLastError = true)]
    public static partial int SetTimeOfDay(in TimeVal time, nint timezone);

    [LibraryImport("libc", EntryPoint = "chown", SetLastError = true, StringMarshalling = StringMarshalling.Custom, StringMarshallingCustomType = typeof(OsStringMarshaller))]
    public static partial int Chown(string path, uint owner, uint group);

    [LibraryImport("libc", EntryPoint = "fchown", SetLastError = true)]
    public static partial int FChown(int fd, uint owner, uint group);
}
