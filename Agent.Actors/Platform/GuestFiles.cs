using System.Buffers;
using System.Runtime.InteropServices;

namespace Agent.Actors.Platform;

/// <summary>Reading the guest's pseudo filesystems (sysfs, procfs) and config files under a configured root.</summary>
public static unsafe class GuestFiles
{
    /// <summary>realpath(3): every symlink resolved; throws <see cref="PlatformException"/> with the errno text.</summary>
    public static string RealPath(string path)
    {
        var resolved = Native.RealPath(path, null);
        if (resolved is null)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new PlatformException(Marshal.GetPInvokeErrorMessage(errno), errno);
        }
        try { return Marshal.PtrToStringUTF8((nint)resolved)!; }
        finally { Native.Free(resolved); }
    }

    /// <summary>Joins a configured root and a guest-absolute path ("/sys" + "/block" or "/tmp/x/sys" + "/block").</summary>
    public static string Under(string root, string absolute) => root.TrimEnd('/') + absolute;

    /// <summary>strerror's text for a failed .NET file call, as qemu prints it after "open(...)".</summary>
    public static string ErrnoText(Exception ex) => ex switch
    {
        FileNotFoundException or DirectoryNotFoundException => "No such file or directory",
        UnauthorizedAccessException => "Permission denied",
        PathTooLongException => "File name too long",
        PlatformException p => p.Message,
        IOException { HResult: var h } when h > 0 => Marshal.GetPInvokeErrorMessage(h),
        _ => ex.Message,
    };

    /// <summary>Entries of a directory in readdir order, or null when it cannot be opened.</summary>
    public static IReadOnlyList<FileSystemInfo>? ListOrNull(string dir)
    {
        try { return new DirectoryInfo(dir).EnumerateFileSystemInfos().ToList(); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return null; }
    }

    public static string? ReadOrNull(string file) =>
        ReadBytesOrNull(file) is { } bytes ? System.Text.Encoding.UTF8.GetString(bytes) : null;

    /// <summary>
    /// A small file's whole content read until EOF, or null when it cannot be opened or read. Plain
    /// open/read/close into a pooled buffer: the inventory commands read os-release, /proc/net/dev
    /// and mountinfo on every call, where a FileStream costs an fstat and a 64 KiB buffer each time.
    /// </summary>
    public static byte[]? ReadBytesOrNull(string file)
    {
        var fd = Native.Open(file, Native.Files.O_RDONLY | Native.Files.O_NOCTTY | Native.Files.O_CLOEXEC);
        if (fd < 0) return null;
        var buffer = ArrayPool<byte>.Shared.Rent(4096);
        try
        {
            var length = 0;
            while (true)
            {
                if (length == buffer.Length)
                {
                    var larger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                    buffer.AsSpan().CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }
                nint n;
                fixed (byte* p = buffer) n = Native.Read(fd, p + length, buffer.Length - length);
                if (n == 0) return buffer.AsSpan(0, length).ToArray();
                if (n > 0) length += (int)n;
                else if (Marshal.GetLastPInvokeError() != Native.Files.EINTR) return null;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            Native.Close(fd);
        }
    }

    /// <summary>
    /// A pseudo file's content, read until EOF. sysfs attributes claim a size of 4096 and procfs
    /// files 0, so File.ReadAllBytes (which trusts the size) cannot be used on them.
    /// </summary>
    public static byte[] ReadAllBytes(string file, int max = int.MaxValue)
    {
        using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 0);
        using var content = new MemoryStream();
        var buffer = new byte[Math.Min(max, 65536)];
        int n;
        while (content.Length < max && (n = stream.Read(buffer, 0, (int)Math.Min(buffer.Length, max - content.Length))) > 0)
            content.Write(buffer, 0, n);
        return content.ToArray();
    }

    /// <summary>The lines of a pseudo file (see <see cref="ReadAllBytes"/>), without the empty piece after the last newline.</summary>
    public static string[] ReadLines(string file)
    {
        var text = System.Text.Encoding.UTF8.GetString(ReadAllBytes(file));
        return (text.EndsWith('\n') ? text[..^1] : text).Split('\n');
    }

    public static bool IsSymlink(FileSystemInfo entry) => entry.LinkTarget is not null;
}
