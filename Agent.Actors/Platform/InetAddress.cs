using System.Runtime.InteropServices;

namespace Agent.Actors.Platform;

/// <summary>inet_ntop(3) text of a raw address, exactly as qemu-ga prints it (no scope suffix).</summary>
public static unsafe class InetAddress
{
    private const int AfInet = 2;
    private const int AfInet6 = 10;

    public static string Format(ReadOnlySpan<byte> address)
    {
        var output = stackalloc byte[64];
        fixed (byte* p = address)
        {
            if (Native.InetNtop(address.Length == 4 ? AfInet : AfInet6, p, output, 64) is null)
                throw new PlatformException(Native.LastErrorText());
        }
        return Marshal.PtrToStringUTF8((nint)output)!;
    }
}
