using System.Runtime.InteropServices;

namespace Agent.Actors.Platform;

/// <summary>
/// libc calls behind the inventory commands. Struct layouts are the LP64 Linux ones (x86_64 and
/// aarch64 agree on every struct used here; statx is used instead of stat for that reason).
/// </summary>
internal static unsafe partial class Native
{
    /// <summary>struct utsname: six fields of 65 bytes (sysname, nodename, release, version, machine, domainname).</summary>
    internal const int UtsFieldLength = 65;

    [LibraryImport("libc", EntryPoint = "uname", SetLastError = true)]
    internal static partial int Uname(byte* buf);

    [LibraryImport("libc", EntryPoint = "gethostname", SetLastError = true)]
    internal static partial int GetHostName(byte* name, nuint length);

    [StructLayout(LayoutKind.Sequential)]
    internal struct StatVfsBuffer
    {
        public ulong BlockSize;
        public ulong FragmentSize;
        public ulong Blocks;
        public ulong BlocksFree;
        public ulong BlocksAvailable;
        public ulong Files;
        public ulong FilesFree;
        public ulong FilesAvailable;
        public ulong FsId;
        public ulong Flag;
        public ulong NameMax;
        public fixed int Spare[6];
    }

    [LibraryImport("libc", EntryPoint = "statvfs", SetLastError = true, StringMarshalling = StringMarshalling.Custom, StringMarshallingCustomType = typeof(OsStringMarshaller))]
    internal static partial int StatVfs(string path, out StatVfsBuffer buffer);

    /// <summary>struct ifaddrs (LP64): next, name, flags(+pad), addr, netmask, ifu, data.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct IfAddrs
    {
        public IfAddrs* Next;
        public byte* Name;
        public uint Flags;
        public byte* Address;
        public byte* Netmask;
        public byte* BroadcastOrDestination;
        public void* Data;
    }

    [LibraryImport("libc", EntryPoint = "getifaddrs", SetLastError = true)]
    internal static partial int GetIfAddrs(out IfAddrs* list);

    internal const int SockDgram = 2;
    internal const int SockCloexec = 0x80000;

    [LibraryImport("libc", EntryPoint = "socket", SetLastError = true)]
    internal static partial int Socket(int domain, int type, int protocol);

    [LibraryImport("libc", EntryPoint = "freeifaddrs")]
    internal static partial void FreeIfAddrs(IfAddrs* list);

    [LibraryImport("libc", EntryPoint = "realpath", SetLastError = true, StringMarshalling = StringMarshalling.Custom, StringMarshallingCustomType = typeof(OsStringMarshaller))]
    internal static partial byte* RealPath(string path, byte* resolved);

    [LibraryImport("libc", EntryPoint = "free")]
    internal static partial void Free(void* pointer);

    internal const int AtFdCwd = -100;
    internal const uint StatxType = 0x1;
    internal const uint StatxBasicStats = 0x7ff;
    // struct statx (linux/stat.h): where each field this agent reads sits.
    internal const int StatxBufferSize = 256;
    internal const int StatxModeOffset = 0x1c;
    internal const int StatxInoOffset = 0x20;
    internal const int StatxSizeOffset = 0x28;
    internal const int StatxCtimeOffset = 0x60;
    internal const int StatxMtimeOffset = 0x70;
    internal const int StatxRdevMajorOffset = 0x80;
    internal const int StatxRdevMinorOffset = 0x84;
    internal const int StatxDevMajorOffset = 0x88;
    internal const int StatxDevMinorOffset = 0x8c;
    internal const ushort FileTypeMask = 0xF000;
    internal const ushort BlockDeviceType = 0x6000;
    internal const ushort RegularFileType = 0x8000;

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Custom, StringMarshallingCustomType = typeof(OsStringMarshaller))]
    internal static partial int Statx(int dirfd, string path, int flags, uint mask, byte* buffer);

    /// <summary>0 when statx finds <paramref name="path"/> (links followed), else its errno: lets a caller
    /// tell "not there" (ENOENT) from other failures without the exception File's calls throw.</summary>
    internal static int StatxErrno(string path)
    {
        var buffer = stackalloc byte[StatxBufferSize];
        return Statx(AtFdCwd, path, 0, StatxType, buffer) == 0 ? 0 : Marshal.GetLastPInvokeError();
    }

    internal const int ScClkTck = 2;

    [LibraryImport("libc", EntryPoint = "sysconf", SetLastError = true)]
    internal static partial long SysConf(int name);

    /// <summary>struct tm (LP64): nine ints, then tm_gmtoff and tm_zone.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct Tm
    {
        public int Second, Minute, Hour, MonthDay, Month, Year, WeekDay, YearDay, IsDst;
        public long GmtOffset;
        public byte* Zone;
    }

    [LibraryImport("libc", EntryPoint = "tzset")]
    internal static partial void TzSet();

    [LibraryImport("libc", EntryPoint = "localtime_r", SetLastError = true)]
    internal static partial Tm* LocalTime(in long time, out Tm result);

    [LibraryImport("libc", EntryPoint = "inet_ntop", SetLastError = true)]
    internal static partial byte* InetNtop(int family, byte* source, byte* destination, uint size);

    /// <summary>struct nvme_admin_cmd (linux/nvme_ioctl.h), 72 bytes.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct NvmeAdminCommand
    {
        public byte Opcode;
        public byte Flags;
        public ushort Reserved;
        public uint NamespaceId;
        public uint Cdw2, Cdw3;
        public ulong Metadata;
        public ulong Address;
        public uint MetadataLength;
        public uint DataLength;
        public uint Cdw10, Cdw11, Cdw12, Cdw13, Cdw14, Cdw15;
        public uint TimeoutMs;
        public uint Result;
    }

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    internal static partial int Ioctl(int fd, ulong request, void* argument);

    internal static string LastErrorText() => Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError());
}
