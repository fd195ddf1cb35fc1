using Agent.Actors.Settings;
namespace Agent.Actors.Commands.Power;

/// <summary>guest-suspend-disk, -ram and -hybrid, and the names each strategy uses for them.</summary>
public enum SuspendMode { Disk, Ram, Hybrid }

public static class SuspendModes
{
    public static readonly IReadOnlyList<SuspendMode> All = [SuspendMode.Disk, SuspendMode.Ram, SuspendMode.Hybrid];

    public static string Name(this SuspendMode mode) => mode switch
    {
        SuspendMode.Disk => "disk",
        SuspendMode.Ram => "ram",
        _ => "hybrid",
    };

    /// <summary>The systemd unit probed with <c>systemctl status</c>.</summary>
    public static string SystemdUnit(this SuspendMode mode) => mode switch
    {
        SuspendMode.Disk => "systemd-hibernate",
        SuspendMode.Ram => "systemd-suspend",
        _ => "systemd-hybrid-sleep",
    };

    /// <summary>The <c>systemctl</c> verb that performs it.</summary>
    public static string SystemctlVerb(this SuspendMode mode) => mode switch
    {
        SuspendMode.Disk => "hibernate",
        SuspendMode.Ram => "suspend",
        _ => "hybrid-sleep",
    };

    public static string PmIsSupportedFlag(this SuspendMode mode) => mode switch
    {
        SuspendMode.Disk => "--hibernate",
        SuspendMode.Ram => "--suspend",
        _ => "--suspend-hybrid",
    };

    public static string PmProgram(this SuspendMode mode) => mode switch
    {
        SuspendMode.Disk => "pm-hibernate",
        SuspendMode.Ram => "pm-suspend",
        _ => "pm-suspend-hybrid",
    };

    /// <summary>What is written to /sys/power/state; hybrid has no single word (it needs /sys/power/disk too).</summary>
    public static string? SysfsState(this SuspendMode mode) => mode switch
    {
        SuspendMode.Disk => "disk",
        SuspendMode.Ram => "mem",
        _ => null,
    };

    public static string Name(this SuspendStrategy strategy) => strategy switch
    {
        SuspendStrategy.Systemd => "systemd",
        SuspendStrategy.PmUtils => "pm-utils",
        _ => "sysfs",
    };
}
