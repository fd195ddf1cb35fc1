using System.Net.Sockets;
using System.Numerics;
using System.Runtime.InteropServices;

namespace Agent.Actors.Platform;

/// <summary>
/// One getifaddrs entry: an interface name (with its alias label, e.g. eth0:1) and, for AF_INET and
/// AF_INET6 entries, the address and the netmask's prefix length. Other families carry no address.
/// </summary>
public sealed record InterfaceAddress(string Name, AddressFamily Family, byte[]? Address, int Prefix);

public interface INetworkInterfaces
{
    /// <summary>getifaddrs() in its order; throws <see cref="PlatformException"/> with the errno text.</summary>
    IReadOnlyList<InterfaceAddress> List();

    /// <summary>
    /// What SIOCGIFHWADDR reports for <paramref name="name"/> (the kernel looks up an alias's device,
    /// eth0:1 → eth0): the first six octets of the link-layer address, zeros for a device without one
    /// (lo, tun). False when the ioctl fails, e.g. for a device that has gone away.
    /// </summary>
    bool TryHardwareAddress(string name, Span<byte> address);
}

public sealed unsafe class LinuxNetworkInterfaces : INetworkInterfaces
{
    public static readonly LinuxNetworkInterfaces Instance = new();

    private const ushort AfInet = 2;
    private const ushort AfInet6 = 10;

    private const int SiocGifHwAddr = 0x8927;
    private const int IfNameSize = 16;
    // struct ifreq: the name, then a union whose ifr_hwaddr is a sockaddr (family, then sa_data).
    private const int IfreqSize = 40;
    private const int HardwareAddressOffset = IfNameSize + 2;

    // One datagram socket kept for the ioctls (qemu-ga opens one per interface per request,
    // qga/commands-posix.c, guest_get_hw_addr); created on first use, never closed.
    private int _ioctlSocket = -1;

    private LinuxNetworkInterfaces() { }

    public bool TryHardwareAddress(string name, Span<byte> address)
    {
        var fd = IoctlSocket();
        if (fd < 0) return false;
        var ifreq = stackalloc byte[IfreqSize];
        new Span<byte>(ifreq, IfreqSize).Clear();
        // Kernel names are at most IFNAMSIZ - 1 bytes; a longer one names no device.
        if (!global::System.Text.Encoding.UTF8.TryGetBytes(name, new Span<byte>(ifreq, IfNameSize - 1), out _)) return false;
        if (Native.Ioctl(fd, SiocGifHwAddr, ifreq) != 0) return false;
        new ReadOnlySpan<byte>(ifreq + HardwareAddressOffset, 6).CopyTo(address);
        return true;
    }

    private int IoctlSocket()
    {
        var fd = Volatile.Read(ref _ioctlSocket);
        if (fd >= 0) return fd;
        fd = Native.Socket(AfInet, Native.SockDgram | Native.SockCloexec, 0);
        if (fd < 0) return -1;
        var existing = Interlocked.CompareExchange(ref _ioctlSocket, fd, -1);
        if (existing < 0) return fd;
        Native.Close(fd);
        return existing;
    }

    public IReadOnlyList<InterfaceAddress> List()
    {
        if (Native.GetIfAddrs(out var head) != 0) throw new PlatformException(Native.LastErrorText());
        try
        {
            var result = new List<InterfaceAddress>();
            for (var ifa = head; ifa != null; ifa = ifa->Next)
            {
                var name = Marshal.PtrToStringUTF8((nint)ifa->Name) ?? "";
                var family = ifa->Address is null ? (ushort)0 : *(ushort*)ifa->Address;
                // sockaddr_in keeps the address at offset 4, sockaddr_in6 at offset 8.
                result.Add(family switch
                {
                    AfInet => new InterfaceAddress(name, AddressFamily.InterNetwork,
                        Copy(ifa->Address + 4, 4), Prefix(ifa->Netmask, 4, 4)),
                    AfInet6 => new InterfaceAddress(name, AddressFamily.InterNetworkV6,
                        Copy(ifa->Address + 8, 16), Prefix(ifa->Netmask, 8, 16)),
                    _ => new InterfaceAddress(name, AddressFamily.Unspecified, null, 0),
                });
            }
            return result;
        }
        finally
        {
            Native.FreeIfAddrs(head);
        }
    }

    private static byte[] Copy(byte* p, int length) => new ReadOnlySpan<byte>(p, length).ToArray();

    /// <summary>qemu counts the set bits of the netmask, whatever their positions.</summary>
    private static int Prefix(byte* netmask, int offset, int length)
    {
        if (netmask is null) return 0;
        var bits = 0;
        foreach (var b in new ReadOnlySpan<byte>(netmask + offset, length)) bits += BitOperations.PopCount(b);
        return bits;
    }
}
