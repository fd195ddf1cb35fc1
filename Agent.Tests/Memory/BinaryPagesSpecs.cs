using System.Runtime.InteropServices;
using Agent.Actors.Memory;

namespace Agent.Tests.Memory;

public sealed unsafe partial class BinaryPagesSpecs : IDisposable
{
    private const string Smaps = """
        55d0a0000000-55d0a0024000 r--p 00000000 08:01 1234                       /usr/sbin/actoragent
        Size:                144 kB
        Rss:                 144 kB
        Anonymous:             0 kB
        VmFlags: rd mr mw me dw sd
        55d0a0024000-55d0a08cc000 r-xp 00024000 08:01 1234                       /usr/sbin/actoragent
        Size:               8864 kB
        Rss:                6676 kB
        Anonymous:             0 kB
        VmFlags: rd ex mr mw me dw sd
        55d0a08cc000-55d0a08ce000 r--p 008cc000 08:01 1234                       /usr/sbin/actoragent
        Size:                  8 kB
        Rss:                   8 kB
        Anonymous:             8 kB
        VmFlags: rd mr mw me dw ac sd
        55d0a08ce000-55d0a08d0000 r--p 008ce000 08:01 1234                       /usr/sbin/actoragent
        Size:                  8 kB
        Rss:                   0 kB
        Anonymous:             0 kB
        VmFlags: rd mr mw me dw sd
        55d0a08d0000-55d0a0917000 rw-p 008d0000 08:01 1234                       /usr/sbin/actoragent
        Size:                284 kB
        Rss:                 284 kB
        Anonymous:           112 kB
        VmFlags: rd wr mr mw me dw ac sd
        55d0a0a00000-55d0a0f23000 rw-p 00000000 00:00 0
        Size:               5260 kB
        Rss:                5260 kB
        Anonymous:          5260 kB
        VmFlags: rd wr mr mw me ac sd hg
        7f9410b16000-7f9410c6c000 r-xp 00026000 08:01 99                         /usr/lib/x86_64-linux-gnu/libc.so.6
        Size:               1368 kB
        Rss:                1112 kB
        Anonymous:             0 kB
        VmFlags: rd ex mr mw me sd
        7f9410d00000-7f9410d01000 r--s 00000000 08:01 1234                       /usr/sbin/actoragent
        Size:                  4 kB
        Rss:                   4 kB
        Anonymous:             0 kB
        VmFlags: rd sh mr mw me sd
        """;

    [Fact]
    public void Picks_only_the_binarys_private_read_only_mappings_that_hold_no_copied_page()
    {
        var picked = BinaryPages.Select(Smaps, "/usr/sbin/actoragent");
        // Not: the relocated read-only data (a copied page), the empty one, data, anonymous memory,
        // another file, a shared mapping.
        Assert.Equal(
        [
            new BinaryPages.Releasable(unchecked((nint)0x55d0a0000000), 0x24000, 144),
            new BinaryPages.Releasable(unchecked((nint)0x55d0a0024000), 0x8a8000, 6676),
        ], picked);
    }

    [Fact]
    public void Picks_nothing_without_a_path()
    {
        Assert.Empty(BinaryPages.Select(Smaps, ""));
        Assert.Empty(BinaryPages.Select(Smaps, "/usr/sbin/other"));
    }

    private const int PROT_READ = 1, PROT_WRITE = 2, MAP_PRIVATE = 2;
    private const int Pages = 16;
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"binary-pages-{Guid.NewGuid():N}");
    private readonly List<(nint Address, nuint Length)> _mappings = [];

    [Fact]
    public void Releases_read_pages_and_keeps_every_page_the_process_wrote()
    {
        var page = Environment.SystemPageSize;
        var bytes = new byte[Pages * page];
        for (var i = 0; i < bytes.Length; i++) bytes[i] = (byte)(i * 7 + 3);
        File.WriteAllBytes(_path, bytes);

        var readOnly = Map(PROT_READ);
        var written = Map(PROT_READ | PROT_WRITE);
        var relocated = Map(PROT_READ | PROT_WRITE);
        long sum = 0;
        for (var i = 0; i < bytes.Length; i += page) sum += ((byte*)readOnly)[i];
        ((byte*)written)[5] = 0xAA;
        // As the dynamic loader does with relocated read-only data: written, then made read-only.
        ((byte*)relocated)[page + 9] = 0xBB;
        Assert.Equal(0, Mprotect(relocated, (nuint)bytes.Length, PROT_READ));
        Assert.Equal(Pages * page / 1024, ResidentKb(readOnly));

        var released = BinaryPages.Release(_path);

        Assert.Equal(Pages * page / 1024, released);
        Assert.Equal(0, ResidentKb(readOnly));
        Assert.Equal(bytes, new ReadOnlySpan<byte>((void*)readOnly, bytes.Length).ToArray());
        Assert.Equal(0xAA, ((byte*)written)[5]);
        Assert.Equal(0xBB, ((byte*)relocated)[page + 9]);
        Assert.True(sum > 0);
    }

    private nint Map(int protection)
    {
        var fd = File.OpenHandle(_path);
        var address = Mmap(0, (nuint)new FileInfo(_path).Length, protection, MAP_PRIVATE, (int)fd.DangerousGetHandle(), 0);
        fd.Dispose();
        Assert.NotEqual(-1, address);
        _mappings.Add((address, (nuint)new FileInfo(_path).Length));
        return address;
    }

    private static long ResidentKb(nint address)
    {
        var header = $"{address:x}-";
        var inside = false;
        foreach (var line in File.ReadLines("/proc/self/smaps"))
        {
            if (line.StartsWith(header)) inside = true;
            else if (inside && line.StartsWith("Rss:"))
                return long.Parse(line["Rss:".Length..].Trim().Split(' ')[0]);
        }
        throw new InvalidOperationException($"no mapping at {header}");
    }

    public void Dispose()
    {
        foreach (var (address, length) in _mappings) Munmap(address, length);
        File.Delete(_path);
    }

    [LibraryImport("libc", EntryPoint = "mmap")]
    private static partial nint Mmap(nint address, nuint length, int protection, int flags, int fd, long offset);

    [LibraryImport("libc", EntryPoint = "mprotect")]
    private static partial int Mprotect(nint address, nuint length, int protection);

    [LibraryImport("libc", EntryPoint = "munmap")]
    private static partial int Munmap(nint address, nuint length);
}
