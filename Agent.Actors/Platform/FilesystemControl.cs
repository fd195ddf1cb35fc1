using System.Runtime.InteropServices;

namespace Agent.Actors.Platform;

/// <summary>How one open-then-ioctl on a mounted directory went: Errno 0 is success, else which step failed.</summary>
public readonly record struct MountCall(bool OpenFailed, int Errno)
{
    public static readonly MountCall Ok = new(false, 0);

    public bool Succeeded => Errno == 0;
}

/// <summary>What FITRIM reports back: the bytes trimmed and the minimum extent the kernel actually used.</summary>
public readonly record struct TrimOutcome(MountCall Call, ulong Trimmed, ulong Minimum);

/// <summary>
/// The filesystem ioctls qemu-ga issues on mount points (FIFREEZE, FITHAW, FITRIM). Each call opens
/// the directory read-only, issues one ioctl and closes it. The one seam tests replace: no test
/// may freeze or trim a filesystem of the machine it runs on.
/// </summary>
public interface IFilesystemControl
{
    MountCall Freeze(string directory);

    MountCall Thaw(string directory);

    TrimOutcome Trim(string directory, ulong minimum);
}

public sealed class LinuxFilesystemControl : IFilesystemControl
{
    public static readonly LinuxFilesystemControl Instance = new();

    private LinuxFilesystemControl() { }

    public MountCall Freeze(string directory) => Call(directory, fd => Native.IoctlInt(fd, Native.FIFREEZE, 0));

    public MountCall Thaw(string directory) => Call(directory, fd => Native.IoctlInt(fd, Native.FITHAW, 0));

    public TrimOutcome Trim(string directory, ulong minimum)
    {
        var range = new Native.FstrimRange { Start = 0, Length = ulong.MaxValue, MinimumLength = minimum };
        var call = Call(directory, fd => Native.IoctlTrim(fd, Native.FITRIM, ref range));
        return new TrimOutcome(call, range.Length, range.MinimumLength);
    }

    private static MountCall Call(string directory, Func<int, int> ioctl)
    {
        var fd = Native.Open(directory, Native.O_RDONLY | Native.O_CLOEXEC);
        if (fd < 0) return new MountCall(true, Marshal.GetLastPInvokeError());
        try
        {
            return ioctl(fd) == 0 ? MountCall.Ok : new MountCall(false, Marshal.GetLastPInvokeError());
        }
        finally
        {
            Native.Close(fd);
        }
    }
}

/// <summary>settimeofday(2) behind a seam: no test may set the clock of the machine it runs on.</summary>
public interface ISystemTimeSetter
{
    /// <summary>Sets the wall clock; 0 or the errno.</summary>
    int SetTimeOfDay(long seconds, long microseconds);
}

public sealed class LinuxSystemTimeSetter : ISystemTimeSetter
{
    public static readonly LinuxSystemTimeSetter Instance = new();

    private LinuxSystemTimeSetter() { }

    public int SetTimeOfDay(long seconds, long microseconds) =>
        Native.SetTimeOfDay(new Native.TimeVal { Seconds = seconds, Microseconds = microseconds }, 0) == 0
            ? 0
            : Marshal.GetLastPInvokeError();
}
