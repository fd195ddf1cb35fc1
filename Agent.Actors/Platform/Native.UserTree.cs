using System.Runtime.InteropServices;

namespace Agent.Actors.Platform;

/// <summary>The *at calls <see cref="UserTree"/> walks and writes a user's files with.</summary>
internal static partial class Native
{
    internal static class At
    {
        public const int O_DIRECTORY = 0x10000;
        public const int O_NOFOLLOW = 0x20000;

        public const int AT_SYMLINK_NOFOLLOW = 0x100;
        public const int AT_EMPTY_PATH = 0x1000;

        public const int ENOENT = 2;
        public const int ENOTDIR = 20;
        public const int ELOOP = 40;

        public const uint S_IFMT = 0xF000;
        public const uint S_IFDIR = 0x4000;
        public const uint S_IFREG = 0x8000;
        public const uint S_IFLNK = 0xA000;
        public const uint S_IFIFO = 0x1000;
        public const uint S_IFCHR = 0x2000;
        public const uint S_IFBLK = 0x6000;
        public const uint S_IFSOCK = 0xC000;

        /// <summary>STATX_TYPE | STATX_MODE | STATX_NLINK | STATX_UID | STATX_GID | STATX_SIZE.</summary>
        public const uint StatxBasic = 0x1 | 0x2 | 0x4 | 0x8 | 0x10 | 0x200;
    }

    /// <summary>The fields of struct statx the user tree checks.</summary>
    internal readonly record struct FileStatus(uint Mode, uint Nlink, uint Uid, uint Gid, long Size)
    {
        public uint Type => Mode & At.S_IFMT;
    }

    [LibraryImport("libc", EntryPoint = "openat", SetLastError = true, StringMarshalling = StringMarshalling.Custom, StringMarshallingCustomType = typeof(OsStringMarshaller))]
    internal static partial int OpenAt(int dirfd, string path, int flags, uint mode);

    [LibraryImport("libc", EntryPoint = "mkdirat", SetLastError = true, StringMarshalling = StringMarshalling.Custom, StringMarshallingCustomType = typeof(OsStringMarshaller))]
    internal static partial int MkdirAt(int dirfd, string path, uint mode);

    [LibraryImport("libc", EntryPoint = "renameat", SetLastError = true, StringMarshalling = StringMarshalling.Custom, StringMarshallingCustomType = typeof(OsStringMarshaller))]
    internal static partial int RenameAt(int olddirfd, string oldpath, int newdirfd, string newpath);

    [LibraryImport("libc", EntryPoint = "unlinkat", SetLastError = true, StringMarshalling = StringMarshalling.Custom, StringMarshallingCustomType = typeof(OsStringMarshaller))]
    internal static partial int UnlinkAt(int dirfd, string path, int flags);

    [LibraryImport("libc", EntryPoint = "readlinkat", SetLastError = true, StringMarshalling = StringMarshalling.Custom, StringMarshallingCustomType = typeof(OsStringMarshaller))]
    internal static unsafe partial nint ReadLinkAt(int dirfd, string path, byte* buffer, nint size);

    /// <summary>statx (glibc 2.28+; fstatat has its own symbol only since 2.33) of <paramref name="name"/> in <paramref name="dirfd"/>, or of the descriptor itself when the name is empty.</summary>
    internal static unsafe int StatAt(int dirfd, string name, bool follow, out FileStatus status)
    {
        var buffer = stackalloc byte[StatxBufferSize];
        var flags = name.Length == 0 ? At.AT_EMPTY_PATH : follow ? 0 : At.AT_SYMLINK_NOFOLLOW;
        int rc;
        do rc = Statx(dirfd, name, flags, At.StatxBasic, buffer);
        while (rc != 0 && Marshal.GetLastPInvokeError() == EINTR);
        if (rc != 0)
        {
            status = default;
            return rc;
        }
        status = new FileStatus(
            Mode: *(ushort*)(buffer + StatxModeOffset),
            Nlink: *(uint*)(buffer + 0x10),
            Uid: *(uint*)(buffer + 0x14),
            Gid: *(uint*)(buffer + 0x18),
            Size: *(long*)(buffer + 0x28));
        return 0;
    }
}
