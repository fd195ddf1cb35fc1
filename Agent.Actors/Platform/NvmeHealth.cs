using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Agent.Actors.Platform;

/// <summary>NVMe admin queries; guest-get-disks reports the SMART / Health log of NVMe disks.</summary>
public interface INvmeHealth
{
    /// <summary>The 512-byte SMART / Health Information log page (log id 02h) of the device node, or null when it cannot be read.</summary>
    byte[]? SmartLog(string devNode);
}

public sealed unsafe class LinuxNvmeHealth : INvmeHealth
{
    public static readonly LinuxNvmeHealth Instance = new();

    public const int LogSize = 512;
    private const byte GetLogPage = 0x02;
    private const uint SmartHealthLog = 0x02;
    private const uint AllNamespaces = 0xFFFFFFFF;
    /// <summary>Return Asynchronous Event: reading the log must not clear a pending warning.</summary>
    private const uint RetainAsyncEvent = 1u << 15;
    /// <summary>_IOWR('N', 0x41, struct nvme_admin_cmd), the struct being 72 bytes.</summary>
    private const ulong AdminCommand = 0xC0484E41;

    private LinuxNvmeHealth() { }

    public byte[]? SmartLog(string devNode)
    {
        var fd = Native.Open(devNode, Native.O_RDONLY | Native.O_CLOEXEC);
        if (fd < 0) return null;
        try
        {
            var log = new byte[LogSize];
            fixed (byte* buffer = log)
            {
                var cmd = new Native.NvmeAdminCommand
                {
                    Opcode = GetLogPage,
                    NamespaceId = AllNamespaces,
                    Address = (ulong)buffer,
                    DataLength = LogSize,
                    Cdw10 = SmartHealthLog | RetainAsyncEvent | ((LogSize / 4 - 1) << 16),
                };
                return Native.Ioctl(fd, AdminCommand, &cmd) == 0 ? log : null;
            }
        }
        finally
        {
            Native.Close(fd);
        }
    }
}

/// <summary>The members of GuestNVMeSmart, decoded from the log page (little-endian; 128-bit counters as lo/hi).</summary>
public static class NvmeSmartLog
{
    private static readonly (string Name, int Offset)[] Counters =
    [
        ("data-units-read", 32), ("data-units-written", 48), ("host-read-commands", 64), ("host-write-commands", 80),
        ("controller-busy-time", 96), ("power-cycles", 112), ("power-on-hours", 128), ("unsafe-shutdowns", 144),
        ("media-errors", 160), ("number-of-error-log-entries", 176),
    ];

    public static IEnumerable<(string Name, ulong Value)> Fields(ReadOnlySpan<byte> log)
    {
        var fields = new List<(string, ulong)>
        {
            ("critical-warning", log[0]),
            ("temperature", BinaryPrimitives.ReadUInt16LittleEndian(log[1..])),
            ("available-spare", log[3]),
            ("available-spare-threshold", log[4]),
            ("percentage-used", log[5]),
        };
        foreach (var (name, offset) in Counters)
        {
            fields.Add(($"{name}-lo", BinaryPrimitives.ReadUInt64LittleEndian(log[offset..])));
            fields.Add(($"{name}-hi", BinaryPrimitives.ReadUInt64LittleEndian(log[(offset + 8)..])));
        }
        return fields;
    }
}
