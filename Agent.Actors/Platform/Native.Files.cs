using System.Runtime.InteropServices;

namespace Agent.Actors.Platform;

/// <summary>
/// Raw file-descriptor I/O for guest-file-* and qga.state; stdio semantics are rebuilt on top (see
/// StdioFile). open, read, write, close and StrError are shared with the channel (Native.Channel.cs).
/// </summary>
internal static partial class Native
{
    /// <summary>Linux open(2)/lseek(2) constants and the errno values the file code branches on.</summary>
    internal static class Files
    {
        public const int O_RDONLY = 0x0;
        public const int O_WRONLY = 0x1;
        public const int O_RDWR = 0x2;
        public const int O_CREAT = 0x40;
        public const int O_EXCL = 0x80;
        public const int O_NOCTTY = 0x100;
        public const int O_TRUNC = 0x200;
        public const int O_APPEND = 0x400;
        public const int O_NONBLOCK = 0x800;
        public const int O_CLOEXEC = 0x80000;

        public const int SEEK_SET = 0;
        public const int SEEK_CUR = 1;
        public const int SEEK_END = 2;

        public const int EINTR = 4;
        public const int EEXIST = 17;
        public const int ESPIPE = 29;
    }

    [LibraryImport("libc", EntryPoint = "lseek", SetLastError = true)]
    internal static partial long LSeek(int fd, long offset, int whence);

    [LibraryImport("libc", EntryPoint = "fchmod", SetLastError = true)]
    internal static partial int FChmod(int fd, uint mode);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    internal static partial int FSync(int fd);
}
