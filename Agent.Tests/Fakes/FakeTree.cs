using System.Buffers.Binary;
using System.Text;
using Agent.Actors.Commands.Users;

namespace Agent.Tests.Fakes;

/// <summary>A temporary folder laid out like a guest's /sys, /proc, /etc and /run; deleted on dispose.</summary>
public sealed class FakeTree : IDisposable
{
    public string Root { get; } = Directory.CreateTempSubdirectory("inventory-").FullName;

    public string Path(string relative) => System.IO.Path.Join(Root, relative);

    public FakeTree File(string relative, string content)
    {
        var full = Path(relative);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        System.IO.File.WriteAllText(full, content);
        return this;
    }

    public FakeTree Dir(string relative)
    {
        Directory.CreateDirectory(Path(relative));
        return this;
    }

    /// <summary>A symlink at <paramref name="relative"/> with the literal (usually relative) target, as sysfs has them.</summary>
    public FakeTree Link(string relative, string target)
    {
        var full = Path(relative);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        System.IO.File.CreateSymbolicLink(full, target);
        return this;
    }

    /// <summary>A block device directory with the uevent udev reads (MAJOR, MINOR, DEVNAME) and a size.</summary>
    public FakeTree BlockDevice(string relative, uint major, uint minor, string size = "2097152")
    {
        var name = System.IO.Path.GetFileName(relative);
        return File($"{relative}/uevent", $"MAJOR={major}\nMINOR={minor}\nDEVNAME={name}\nDEVTYPE=disk\n")
            .File($"{relative}/size", size + "\n");
    }

    /// <summary>glibc struct utmp records (384 bytes each, little-endian).</summary>
    public FakeTree Utmp(string relative, params (short Type, string User, int Seconds, int Microseconds)[] records)
    {
        var data = new byte[records.Length * Actors.Platform.Utmp.RecordSize];
        for (var i = 0; i < records.Length; i++)
        {
            var r = data.AsSpan(i * Actors.Platform.Utmp.RecordSize, Actors.Platform.Utmp.RecordSize);
            var (type, user, sec, usec) = records[i];
            BinaryPrimitives.WriteInt16LittleEndian(r[Actors.Platform.Utmp.TypeOffset..], type);
            BinaryPrimitives.WriteInt32LittleEndian(r[Actors.Platform.Utmp.PidOffset..], 1000 + i);
            Encoding.ASCII.GetBytes($"pts/{i}").CopyTo(r[Actors.Platform.Utmp.LineOffset..]);
            // A 32-byte name fills ut_user with no terminating NUL; the host field after it must not leak in.
            Encoding.UTF8.GetBytes(user).CopyTo(r.Slice(Actors.Platform.Utmp.UserOffset, Actors.Platform.Utmp.UserLength));
            Encoding.ASCII.GetBytes("host.example").CopyTo(r[Actors.Platform.Utmp.HostOffset..]);
            BinaryPrimitives.WriteInt32LittleEndian(r[Actors.Platform.Utmp.TimeOffset..], sec);
            BinaryPrimitives.WriteInt32LittleEndian(r[(Actors.Platform.Utmp.TimeOffset + 4)..], usec);
        }
        var full = Path(relative);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        System.IO.File.WriteAllBytes(full, data);
        return this;
    }

    /// <summary>Entry names of a directory in readdir order, as the agent (and qemu-ga) sees them.</summary>
    public IReadOnlyList<string> ReaddirOrder(string relative) =>
        new DirectoryInfo(Path(relative)).EnumerateFileSystemInfos().Select(e => e.Name).ToList();

    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); }
        catch (IOException) { }
    }
}
