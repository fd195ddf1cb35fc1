using Akka.Configuration;

namespace Agent.Actors.Settings;

/// <summary>What the read-only inventory commands read beyond the common roots in <see cref="PathSettings"/>.</summary>
/// <param name="OsReleaseOverride">The os-release file to read instead of the usual two; null when unset.</param>
public sealed record InventorySettings(
    string Usr,
    string Utmp,
    string UdevData,
    string? OsReleaseOverride,
    TimeSpan StatvfsTimeout)
{
    /// <summary>Reads <c>paths.usr/utmp/udev-data/os-release</c> and <c>inventory</c> from the <c>agent</c> section.</summary>
    public static InventorySettings Create(Config agent) => Create(agent, Environment.GetEnvironmentVariable);

    /// <param name="environment">Where QGA_OS_RELEASE is looked up when the configuration leaves os-release empty.</param>
    public static InventorySettings Create(Config agent, Func<string, string?> environment)
    {
        var paths = agent.GetConfig("paths");
        var osRelease = paths.GetString("os-release");
        if (string.IsNullOrEmpty(osRelease)) osRelease = environment("QGA_OS_RELEASE");
        return new InventorySettings(
            paths.GetString("usr"),
            paths.GetString("utmp"),
            paths.GetString("udev-data"),
            string.IsNullOrEmpty(osRelease) ? null : osRelease,
            agent.GetConfig("inventory").GetTimeSpan("statvfs-timeout"));
    }
}
