using Agent.Actors.Commands;
using Agent.Actors.Commands.Freeze;
using Agent.Actors.Commands.Time;
using Agent.Actors.Platform;
using Agent.Actors.Settings;
using System.Net.Sockets;
using Akka.Configuration;

namespace Agent.Fuzz;

/// <summary>
/// A fake guest in a temp folder for the fuzzer: sysfs, procfs, etc, dev, utmp and udev trees, a bin/
/// of harmless helper scripts (the only helper path), a files/ folder for guest-file-*, and a home for
/// the one user in its passwd. The families that would reach the machine through ioctls or the clock
/// get in-memory fakes, so nothing a fuzz input asks for can touch this machine (fuzz/README.md).
/// </summary>
public sealed class FuzzGuest : IDisposable
{
    public string Root { get; } = Directory.CreateTempSubdirectory("agent-fuzz-").FullName;
    public string Bin => Path.Combine(Root, "bin");
    public string Files => Path.Combine(Root, "files");
    public string StateDir => Path.Combine(Root, "state");

    /// <summary>The audit trail's syslog socket (agent.audit.socket), drained by <see cref="_syslog"/>.</summary>
    public string SyslogSocket => Path.Combine(Root, "syslog.sock");

    private readonly Socket _syslog;

    /// <summary>Mount points of the fake mountinfo (guest-fsfreeze-freeze-list, guest-fstrim).</summary>
    public static readonly string[] MountPoints = ["/", "/boot", "/data"];

    /// <summary>Programs guest-exec may run: nothing else ever reaches the agent (see <see cref="SafetyFilter"/>).</summary>
    public static readonly string[] Programs = ["/bin/true", "/bin/false", "/bin/echo"];

    public FuzzGuest()
    {
        foreach (var d in new[] { Bin, Files, StateDir, Path.Combine(Root, "home/fuzz"), Path.Combine(Root, "dev"), Path.Combine(Root, "udev") })
            Directory.CreateDirectory(d);
        Write("sys/power/state", "freeze mem disk\n");
        Write("sys/power/mem_sleep", "s2idle [deep]\n");
        Write("sys/power/disk", "[platform] shutdown reboot suspend\n");
        Write("sys/power/resume", "254:2\n");
        for (var cpu = 0; cpu < 4; cpu++) Write($"sys/devices/system/cpu/cpu{cpu}/online", "1\n");
        Write("sys/devices/system/cpu/online", "0-3\n");
        for (var block = 0; block < 4; block++)
        {
            Write($"sys/devices/system/memory/memory{block}/online", "1\n");
            Write($"sys/devices/system/memory/memory{block}/removable", "1\n");
            Write($"sys/devices/system/memory/memory{block}/state", "online\n");
        }
        Write("sys/devices/system/memory/block_size_bytes", "8000000\n");
        Write("proc/self/mountinfo", """
            22 1 254:1 / / rw,relatime - ext4 /dev/vda1 rw
            23 22 254:2 / /boot rw,relatime - ext4 /dev/vda2 rw
            25 22 254:3 / /data rw,relatime - xfs /dev/vdb rw
            28 22 0:40 / /run rw - tmpfs tmpfs rw

            """);
        Write("proc/swaps", "Filename\tType\tSize\tUsed\tPriority\n/dev/vda2 partition\t4194300\t0\t-2\n");
        Write("proc/meminfo", "MemTotal:        4030000 kB\nActive(anon):     600000 kB\n");
        Write("proc/cmdline", "root=/dev/vda1 resume=/dev/vda2\n");
        Write("proc/stat", "cpu  1 2 3 4 5 6 7 8 9 10\ncpu0 1 2 3 4 5 6 7 8 9 10\n");
        Write("proc/diskstats", " 254 0 vda 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17\n");
        Write("proc/loadavg", "0.10 0.20 0.30 1/100 4242\n");
        Write("etc/passwd", $"fuzz:x:{getuid()}:0:fuzz:{Root}/home/fuzz:/bin/sh\n");
        Write("etc/os-release", "NAME=\"Fuzz Linux\"\nID=fuzz\nVERSION_ID=\"1\"\nPRETTY_NAME=\"Fuzz Linux 1\"\n");
        Write("etc/hostname", "fuzz\n");
        File.WriteAllBytes(Path.Combine(Root, "utmp"), []);
        // Helpers succeed quietly, except the probes, so suspend falls through to the fake sysfs.
        foreach (var helper in new[] { "poweroff", "halt", "reboot", "shutdown", "hwclock", "pm-suspend", "pm-hibernate", "pm-suspend-hybrid" })
            Helper(helper, "exit 0");
        Helper("chpasswd", "cat > /dev/null");
        Helper("systemctl", "exit 1");
        Helper("pm-is-supported", "exit 1");
        // The agent audits state-changing commands to syslog: a socket of our own takes them, so they reach
        // neither this machine's syslog nor (through the agent's stderr fallback) the console.
        _syslog = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        _syslog.Bind(new UnixDomainSocketEndPoint(SyslogSocket));
        new Thread(DrainSyslog) { IsBackground = true, Name = "fuzz-syslog" }.Start();
    }

    private void DrainSyslog()
    {
        var buffer = new byte[64 << 10];
        try
        {
            while (_syslog.Receive(buffer) >= 0) { }
        }
        catch (SocketException) { }
        catch (ObjectDisposedException) { }
    }

    /// <summary>HOCON for the agent: every root and helper into the fake guest, short helper timeouts.</summary>
    public string Hocon(string extra = "") => $$"""
        agent {
          state-dir = "{{StateDir}}"
          paths {
            sysfs = "{{Root}}/sys", procfs = "{{Root}}/proc", etc = "{{Root}}/etc", dev = "{{Root}}/dev"
            usr = "{{Root}}/usr", utmp = "{{Root}}/utmp", udev-data = "{{Root}}/udev", os-release = "{{Root}}/etc/os-release"
          }
          helpers { path = ["{{Bin}}"], timeout = 10s }
          suspend { probe-timeout = 5s, execute-timeout = 10s }
          shutdown.timeout = 10s
          fsfreeze { hook = "", hook-timeout = 10s }
          exec.output-limit = 1MiB
          audit.socket = "{{SyslogSocket}}"
          {{extra}}
        }
        """;

    public AgentSettings Settings(string extra = "") => AgentSettings.Create(ConfigurationFactory.ParseString(Hocon(extra)));

    /// <summary>The real families, with the ioctl and clock seams replaced by in-memory fakes.</summary>
    public static IReadOnlyList<CommandFamily> Families()
    {
        var filesystems = new InMemoryFilesystems();
        var clock = new InMemoryClock();
        return CommandCatalog.Families.Select(f => f.Name switch
        {
            "fsfreeze" => f with { Props = ctx => FreezeActor.Props(FreezeContext.From(ctx) with { Filesystems = filesystems }) },
            "fstrim" => f with { Props = ctx => FstrimActor.Props(ctx.Settings.Paths.Procfs, filesystems, LinuxFilesystemStats.Instance) },
            "set-time" => f with { Props = ctx => SetTimeActor.Props(ctx.Settings.Helpers, ctx.Settings.Processes, clock, ctx.Reaper) },
            _ => f,
        }).ToArray();
    }

    private void Write(string relative, string content)
    {
        var path = Path.Combine(Root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content.Replace("\r", ""));
    }

    private void Helper(string name, string body)
    {
        var path = Path.Combine(Bin, name);
        File.WriteAllText(path, $"#!/bin/sh\n{body}\n");
        File.SetUnixFileMode(path, (UnixFileMode)0b111_101_101);
    }

    [System.Runtime.InteropServices.DllImport("libc")]
    private static extern uint getuid();

    public void Dispose()
    {
        _syslog.Dispose();
        try { Directory.Delete(Root, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    /// <summary>FIFREEZE/FITHAW/FITRIM that always succeed, counting the freeze depth like the kernel.</summary>
    private sealed class InMemoryFilesystems : IFilesystemControl
    {
        private readonly Dictionary<string, int> _depth = new();

        public MountCall Freeze(string directory)
        {
            lock (_depth)
            {
                if (_depth.GetValueOrDefault(directory) > 0) return new MountCall(false, 16); // EBUSY
                _depth[directory] = 1;
                return MountCall.Ok;
            }
        }

        public MountCall Thaw(string directory)
        {
            lock (_depth)
            {
                if (_depth.GetValueOrDefault(directory) == 0) return new MountCall(false, 22); // EINVAL
                _depth[directory] = 0;
                return MountCall.Ok;
            }
        }

        public TrimOutcome Trim(string directory, ulong minimum) => new(MountCall.Ok, 4096, minimum);
    }

    private sealed class InMemoryClock : ISystemTimeSetter
    {
        public int SetTimeOfDay(long seconds, long microseconds) => 0;
    }
}
