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
}

public sealed unsafe class LinuxNetworkInterfaces : INetworkInterfaces
{
    public static readonly LinuxNetworkInterfaces Instance = new();

    private const ushort AfInet = 2;
    private const ushort AfInet6 = 10;

    private LinuxNetworkInterfaces() { }

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
