using System.Runtime.InteropServices;
using System.Text;

namespace Agent.Actors.Platform;

/// <summary>uname's release, version and machine strings.</summary>
public sealed record KernelIdentity(string Release, string Version, string Machine);

/// <summary>What the kernel tells about itself that no file under a configured root holds.</summary>
public interface IKernel
{
    KernelIdentity Uname();

    /// <summary>gethostname(); throws <see cref="PlatformException"/> with the errno text.</summary>
    string HostName();

    /// <summary>sysconf(_SC_CLK_TCK): the unit of /proc/stat's counters.</summary>
    long ClockTicksPerSecond { get; }
}

/// <summary>A failed system call, carrying strerror's text (qemu puts it after a colon) and the errno when known.</summary>
public sealed class PlatformException(string errnoText, int errno = 0) : Exception(errnoText)
{
    public const int NoSuchFile = 2;

    public int Errno { get; } = errno;
}

public sealed unsafe class LinuxKernel : IKernel
{
    public static readonly LinuxKernel Instance = new();

    private LinuxKernel() { }

    public long ClockTicksPerSecond { get; } = Native.SysConf(Native.ScClkTck);

    public KernelIdentity Uname()
    {
        var buf = stackalloc byte[Native.UtsFieldLength * 6];
        if (Native.Uname(buf) != 0) throw new PlatformException(Native.LastErrorText());
        return new KernelIdentity(Field(buf, 2), Field(buf, 3), Field(buf, 4));
    }

    public string HostName()
    {
        // HOST_NAME_MAX is 64; a larger buffer keeps the terminating NUL even for a full-length name.
        var buf = stackalloc byte[256];
        if (Native.GetHostName(buf, 256) != 0) throw new PlatformException(Native.LastErrorText());
        return Marshal.PtrToStringUTF8((nint)buf) ?? "";
    }

    private static string Field(byte* buf, int index)
    {
        var span = new ReadOnlySpan<byte>(buf + index * Native.UtsFieldLength, Native.UtsFieldLength);
        var end = span.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end < 0 ? span : span[..end]);
    }
}
