using System.Collections.Concurrent;
using Agent.Actors.Platform;

namespace Agent.Tests.Fakes;

public sealed class FakeKernel(string hostName = "guest-1", long clockTicks = 100) : IKernel
{
    public bool HostNameFails { get; init; }
    public long ClockTicksPerSecond { get; } = clockTicks;
    private int _unameCalls;
    public int UnameCalls => Volatile.Read(ref _unameCalls);

    public KernelIdentity Uname()
    {
        Interlocked.Increment(ref _unameCalls);
        return new("6.1.0-test", "#1 SMP PREEMPT_DYNAMIC Debian 6.1.0", "x86_64");
    }
    public string HostName() => HostNameFails ? throw new PlatformException("Invalid argument") : hostName;
}

public sealed class FakeClock(long unixMicroseconds, LocalZone zone) : IClock
{
    public long UnixMicroseconds() => unixMicroseconds;
    public LocalZone CurrentZone() => zone;
}

/// <summary>getifaddrs entries, and SIOCGIFHWADDR answers per device (an alias asks for its device, as in the kernel).</summary>
public sealed class FakeInterfaces(params InterfaceAddress[] addresses) : INetworkInterfaces
{
    public Dictionary<string, byte[]> HardwareAddresses { get; } = new();
    public List<string> HardwareAddressCalls { get; } = [];

    public IReadOnlyList<InterfaceAddress> List() => addresses;

    public bool TryHardwareAddress(string name, Span<byte> address)
    {
        HardwareAddressCalls.Add(name);
        if (!HardwareAddresses.TryGetValue(name.Split(':')[0], out var octets)) return false;
        octets.AsSpan(0, 6).CopyTo(address);
        return true;
    }
}

/// <summary>statvfs answers per mountpoint; a mountpoint in <see cref="Hung"/> blocks until released, like a dead NFS server.</summary>
public sealed class FakeFilesystemStats : IFilesystemStats, IDisposable
{
    public Dictionary<string, FilesystemUsage> Usages { get; } = new();
    public Dictionary<string, DeviceNumber> Devices { get; } = new();
    public HashSet<string> Hung { get; } = new();
    public ConcurrentDictionary<string, int> Calls { get; } = new();
    private readonly ManualResetEventSlim _release = new();

    public FilesystemUsage? Usage(string mountpoint)
    {
        Calls.AddOrUpdate(mountpoint, 1, (_, n) => n + 1);
        if (Hung.Contains(mountpoint)) _release.Wait();
        return Usages.GetValueOrDefault(mountpoint);
    }

    public DeviceNumber? BlockDevice(string path) => Devices.TryGetValue(path, out var d) ? d : null;

    public void Dispose() => _release.Set();
}

/// <summary>SMART log pages per device node; other nodes cannot be queried.</summary>
public sealed class FakeNvmeHealth : INvmeHealth
{
    public Dictionary<string, byte[]> Logs { get; } = new();

    public byte[]? SmartLog(string devNode) => Logs.GetValueOrDefault(devNode);
}
