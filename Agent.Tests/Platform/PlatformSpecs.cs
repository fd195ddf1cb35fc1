using Agent.Actors.Platform;
using Agent.Tests.Fakes;

namespace Agent.Tests.Platform;

/// <summary>The real implementations behind the inventory seams, read-only against this machine.</summary>
public sealed class PlatformSpecs
{
    [Fact]
    public void Statvfs_of_the_root_reports_blocks_and_statx_finds_block_devices_only()
    {
        var root = LinuxFilesystemStats.Instance.Usage("/");
        Assert.NotNull(root);
        Assert.True(root.Blocks >= root.BlocksFree && root.BlocksFree >= root.BlocksAvailable && root.FragmentSize > 0);
        Assert.Null(LinuxFilesystemStats.Instance.Usage("/no/such/mount"));

        Assert.Null(LinuxFilesystemStats.Instance.BlockDevice("/etc/passwd"));
        Assert.Null(LinuxFilesystemStats.Instance.BlockDevice("/no/such/device"));
        var disk = Directory.EnumerateFileSystemEntries("/sys/block").Select(Path.GetFileName)
            .FirstOrDefault(d => File.Exists($"/dev/{d}"));
        Assert.NotNull(disk);
        var expected = File.ReadAllText($"/sys/block/{disk}/dev").Trim().Split(':').Select(uint.Parse).ToArray();
        Assert.Equal(new DeviceNumber(expected[0], expected[1]), LinuxFilesystemStats.Instance.BlockDevice($"/dev/{disk}"));
    }

    [Fact]
    public void Realpath_resolves_links_and_reports_errno()
    {
        using var tree = new FakeTree();
        tree.Dir("a/b").Link("l", "a/b");
        Assert.Equal(Path.Join(GuestFiles.RealPath(tree.Root), "a", "b"), GuestFiles.RealPath(tree.Path("l")));
        var missing = Assert.Throws<PlatformException>(() => GuestFiles.RealPath(tree.Path("nope")));
        Assert.Equal(PlatformException.NoSuchFile, missing.Errno);
        Assert.Equal("No such file or directory", missing.Message);
    }

    [Fact]
    public void Sysfs_attributes_read_to_eof_although_they_claim_4096_bytes()
    {
        var online = Directory.EnumerateDirectories("/sys/devices/system/cpu", "cpu*")
            .Select(d => Path.Join(d, "online")).FirstOrDefault(File.Exists);
        Assert.NotNull(online);
        Assert.Equal(4096, new FileInfo(online).Length);
        Assert.InRange(GuestFiles.ReadAllBytes(online).Length, 1, 3);
        Assert.Single(GuestFiles.ReadAllBytes(online, max: 1));
    }

    [Fact]
    public void Nvme_smart_log_is_null_for_devices_that_are_not_nvme_or_missing()
    {
        Assert.Null(LinuxNvmeHealth.Instance.SmartLog("/dev/null"));
        Assert.Null(LinuxNvmeHealth.Instance.SmartLog("/dev/no-such-nvme"));
    }

    [Fact]
    public void Uname_and_host_name_match_procfs()
    {
        var uname = LinuxKernel.Instance.Uname();
        Assert.Equal(File.ReadAllText("/proc/sys/kernel/osrelease").Trim(), uname.Release);
        Assert.Equal(File.ReadAllText("/proc/sys/kernel/version").Trim(), uname.Version);
        Assert.Equal(File.ReadAllText("/proc/sys/kernel/hostname").Trim(), LinuxKernel.Instance.HostName());
        Assert.Equal(System.Runtime.InteropServices.RuntimeInformation.OSArchitecture == System.Runtime.InteropServices.Architecture.X64 ? "x86_64" : "aarch64", uname.Machine);
        Assert.Equal(100, LinuxKernel.Instance.ClockTicksPerSecond);
    }
}
