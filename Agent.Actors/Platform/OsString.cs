using System.Runtime.InteropServices;
using System.Runtime.InteropServices.Marshalling;

namespace Agent.Actors.Platform;

/// <summary>
/// Strings on their way to the OS (paths, argv, env, helper input) as qemu-ga hands them over: its
/// JSON parser stores U+0000 as the overlong pair C0 80 (qemu's util/unicode.c, mod_utf8_encode), so
/// a NUL never cuts a C string short. "X\u0000.log" names the file "X\xC0\x80.log", never "X".
/// Every other code point is plain UTF-8. See README, "Strings with U+0000".
/// </summary>
public static class OsString
{
    /// <summary>The bytes without a terminator.</summary>
    public static byte[] Encode(string s)
    {
        var bytes = new byte[ByteCount(s)];
        Write(s, bytes);
        return bytes;
    }

    private static int ByteCount(string s)
    {
        var nuls = 0;
        foreach (var c in s)
            if (c == '\0') nuls++;
        // U+0000 is one byte in UTF-8 and two here.
        return System.Text.Encoding.UTF8.GetByteCount(s) + nuls;
    }

    /// <summary>Writes the bytes of <paramref name="s"/> into <paramref name="destination"/>; returns the count.</summary>
    private static int Write(string s, Span<byte> destination)
    {
        var written = 0;
        var rest = s.AsSpan();
        while (!rest.IsEmpty)
        {
            var nul = rest.IndexOf('\0');
            var run = nul < 0 ? rest : rest[..nul];
            written += System.Text.Encoding.UTF8.GetBytes(run, destination[written..]);
            if (nul < 0) break;
            destination[written++] = 0xC0;
            destination[written++] = 0x80;
            rest = rest[(nul + 1)..];
        }
        return written;
    }

    /// <summary>The reverse of <see cref="Encode"/>: C0 80 is U+0000, the rest UTF-8 (invalid bytes become U+FFFD).</summary>
    public static string Decode(ReadOnlySpan<byte> bytes)
    {
        var text = new System.Text.StringBuilder(bytes.Length);
        while (true)
        {
            var pair = bytes.IndexOf((ReadOnlySpan<byte>)[0xC0, 0x80]);
            text.Append(System.Text.Encoding.UTF8.GetString(pair < 0 ? bytes : bytes[..pair]));
            if (pair < 0) return text.ToString();
            text.Append('\0');
            bytes = bytes[(pair + 2)..];
        }
    }

    /// <summary>A NUL-terminated copy in native memory; free it with <see cref="Free"/>.</summary>
    public static unsafe byte* Allocate(string s)
    {
        var count = ByteCount(s);
        var buffer = (byte*)NativeMemory.Alloc((nuint)count + 1);
        Write(s, new Span<byte>(buffer, count));
        buffer[count] = 0;
        return buffer;
    }

    public static unsafe void Free(byte* buffer) => NativeMemory.Free(buffer);
}

/// <summary>
/// The marshaller every libc import with a string parameter uses (StringMarshallingCustomType), so
/// no string reaches the OS through the runtime's UTF-8 marshaller, which would pass an embedded NUL
/// through and let the C side stop there.
/// </summary>
[CustomMarshaller(typeof(string), MarshalMode.ManagedToUnmanagedIn, typeof(OsStringMarshaller))]
public static unsafe class OsStringMarshaller
{
    public static byte* ConvertToUnmanaged(string? managed) => managed is null ? null : OsString.Allocate(managed);

    public static void Free(byte* unmanaged)
    {
        if (unmanaged is not null) OsString.Free(unmanaged);
    }
}
