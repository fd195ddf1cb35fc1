using System.Runtime.InteropServices;
using Agent.Actors.Platform;
using Agent.Actors.Settings;

namespace Agent.Actors.Commands.Power;

/// <summary>
/// The kernel's sleep interface under the configured roots (<c>agent.paths.sysfs</c>/<c>procfs</c>):
/// what it offers, and the honest "can this VM really suspend/hibernate" check README describes under "Suspend, shutdown and helper processes".
/// Reasons name the kernel files by their usual paths so they read the same whatever the roots.
/// </summary>
public sealed class KernelPower(PathSettings paths)
{
    public string StatePath => Path.Combine(paths.Sysfs, "power", "state");
    public string DiskPath => Path.Combine(paths.Sysfs, "power", "disk");
    public string MemSleepPath => Path.Combine(paths.Sysfs, "power", "mem_sleep");
    private string ResumePath => Path.Combine(paths.Sysfs, "power", "resume");
    private string LockdownPath => Path.Combine(paths.Sysfs, "kernel", "security", "lockdown");
    private string SwapsPath => Path.Combine(paths.Procfs, "swaps");
    private string MemInfoPath => Path.Combine(paths.Procfs, "meminfo");
    private string CmdlinePath => Path.Combine(paths.Procfs, "cmdline");

    /// <summary>qemu-ga's probe: the first 31 bytes of /sys/power/state contain the word as a substring.</summary>
    public bool StateContainsQemuStyle(string word)
    {
        var text = ReadPrefix(StatePath, 31);
        return text is not null && text.Contains(word, StringComparison.Ordinal);
    }

    /// <summary>The words a multi-choice sysfs file offers, brackets (the selected one) removed.</summary>
    public IReadOnlyList<string> Offered(string path) =>
        (Read(path) ?? "").Split([' ', '\n', '\t'], StringSplitOptions.RemoveEmptyEntries)
            .Select(w => w.Trim('[', ']')).ToArray();

    /// <summary>The bracketed (active) word of a multi-choice sysfs file, or null.</summary>
    public string? Selected(string path) =>
        (Read(path) ?? "").Split([' ', '\n', '\t'], StringSplitOptions.RemoveEmptyEntries)
            .FirstOrDefault(w => w.StartsWith('[') && w.EndsWith(']'))?.Trim('[', ']');

    /// <summary>Why the kernel cannot do <paramref name="mode"/> in a way the host will see, or null if it can.</summary>
    public string? Refusal(SuspendMode mode)
    {
        var state = Offered(StatePath);
        if (mode == SuspendMode.Ram && !state.Contains("mem"))
            return "/sys/power/state does not offer mem";

        if (mode is SuspendMode.Ram or SuspendMode.Hybrid && File.Exists(MemSleepPath))
        {
            // s2idle never reaches QEMU as S3: the host waits for a SUSPEND event that never comes.
            var memSleep = Offered(MemSleepPath);
            if (!memSleep.Contains("deep") && !memSleep.Contains("shallow"))
                return $"mem_sleep offers only {string.Join(' ', memSleep.DefaultIfEmpty("nothing"))}";
        }

        if (mode is SuspendMode.Disk or SuspendMode.Hybrid)
        {
            if (Selected(LockdownPath) is { } lockdown && lockdown != "none")
                return $"kernel lockdown ({lockdown}) forbids hibernation";
            if (!state.Contains("disk"))
                return "/sys/power/state does not offer disk";
            if (mode == SuspendMode.Hybrid && !Offered(DiskPath).Contains("suspend"))
                return "/sys/power/disk does not offer suspend";
            var cmdline = (Read(CmdlinePath) ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (cmdline.Contains("noresume"))
                return "the kernel command line has noresume";
            var resume = Read(ResumePath)?.Trim();
            if (string.IsNullOrEmpty(resume) || resume == "0:0")
                return "no resume device is configured (/sys/power/resume is 0:0)";
            var (swapFree, swapAreas) = FreeSwapKiB();
            if (swapAreas == 0)
                return "no swap space for the hibernation image";
            if (ActiveAnonKiB() is { } activeAnon && swapFree < activeAnon)
                return $"not enough swap space for hibernation ({swapFree} KiB free, Active(anon) is {activeAnon} KiB)";
        }
        return null;
    }

    /// <summary>
    /// Writes <paramref name="word"/> the way qemu-ga ≥ 10.1 does: open O_WRONLY and write, no temp file
    /// (sysfs cannot rename). Returns null or qemu's error text. Writing "disk" or "mem" to state only
    /// returns after resume, so callers run this off the actor thread and never time it out.
    /// </summary>
    public static unsafe string? Write(string path, string word)
    {
        var fd = Native.Open(path, Native.O_WRONLY | Native.O_TRUNC | Native.O_CLOEXEC);
        if (fd < 0) return $"suspend: cannot write to '{path}': {Native.StrError(Marshal.GetLastPInvokeError())}";
        try
        {
            var bytes = global::System.Text.Encoding.ASCII.GetBytes(word);
            nint n;
            fixed (byte* p = bytes) n = Native.Write(fd, p, bytes.Length);
            return n < 0 ? $"suspend: cannot write to '{path}': {Native.StrError(Marshal.GetLastPInvokeError())}" : null;
        }
        finally { Native.Close(fd); }
    }

    private (long FreeKiB, int Areas) FreeSwapKiB()
    {
        long free = 0;
        var areas = 0;
        // "Filename Type Size Used Priority"; zram is compressed RAM, and a deleted swap file is going away.
        foreach (var line in (Read(SwapsPath) ?? "").Split('\n').Skip(1))
        {
            var f = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            if (f.Length < 4 || f[0].StartsWith("/dev/zram", StringComparison.Ordinal) || line.Contains("(deleted)")) continue;
            if (!long.TryParse(f[2], out var size) || !long.TryParse(f[3], out var used)) continue;
            free += size - used;
            areas++;
        }
        return (free, areas);
    }

    private long? ActiveAnonKiB()
    {
        foreach (var line in (Read(MemInfoPath) ?? "").Split('\n'))
            if (line.StartsWith("Active(anon):", StringComparison.Ordinal) &&
                long.TryParse(line["Active(anon):".Length..].Trim().Split(' ')[0], out var kib))
                return kib;
        return null;
    }

    private static string? Read(string path)
    {
        try { return File.ReadAllText(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }

    private static string? ReadPrefix(string path, int max)
    {
        try
        {
            using var f = File.OpenRead(path);
            var buffer = new byte[max];
            var n = f.Read(buffer, 0, max);
            return n <= 0 ? null : global::System.Text.Encoding.ASCII.GetString(buffer, 0, n);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }
}
