using System.Runtime.InteropServices;

namespace Agent.Actors.Platform;

/// <summary>The local zone's abbreviation (null when the zone has none) and its offset east of UTC.</summary>
public sealed record LocalZone(string? Abbreviation, long OffsetSeconds);

/// <summary>The wall clock and the local time zone, as qemu-ga reads them through glib.</summary>
public interface IClock
{
    /// <summary>Microseconds since the epoch (g_get_real_time).</summary>
    long UnixMicroseconds();

    /// <summary>The zone in effect now: TZ if set, else /etc/localtime, as glib and libc both resolve it.</summary>
    LocalZone CurrentZone();
}

public sealed unsafe class SystemClock : IClock
{
    public static readonly SystemClock Instance = new();

    private SystemClock() { }

    public long UnixMicroseconds() => (DateTime.UtcNow - DateTime.UnixEpoch).Ticks / TimeSpan.TicksPerMicrosecond;

    public LocalZone CurrentZone()
    {
        // tzset re-reads TZ and /etc/localtime, so a zone change is seen without a restart (glib does the same).
        Native.TzSet();
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        if (Native.LocalTime(now, out var tm) is null) throw new PlatformException(Native.LastErrorText());
        return new LocalZone(tm.Zone is null ? null : Marshal.PtrToStringUTF8((nint)tm.Zone), tm.GmtOffset);
    }
}
