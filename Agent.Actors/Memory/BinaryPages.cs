using System.Globalization;
using Agent.Actors.Platform;

namespace Agent.Actors.Memory;

/// <summary>
/// Unmaps the pages of the agent's own binary that the process has only read (code, read-only data,
/// unwind tables). A start runs code scattered over nearly the whole text, and the kernel maps 16
/// neighbouring pages per fault, so ~15 MB of the binary stay mapped although an idle agent uses a
/// fraction of it (bench/README.md, "Binary pages released"). MADV_DONTNEED on a private file mapping
/// that holds no copied-on-write page drops only page-table entries: the pages stay in the page cache
/// and the next use maps them again with a minor fault, with the same bytes. A mapping the process
/// wrote (data, or relocated read-only data) holds anonymous pages that MADV_DONTNEED would revert to
/// the file's bytes, so such mappings are never touched.
/// </summary>
internal static class BinaryPages
{
    private const int MADV_DONTNEED = 4;

    /// <summary>One mapping of /proc/PID/smaps that may be released.</summary>
    internal readonly record struct Releasable(nint Start, nuint Length, long ResidentKb);

    /// <summary>Unmaps what <see cref="Select"/> picks for the running executable; returns the KiB that were resident.</summary>
    public static long Release() => Release(ExecutablePath());

    /// <summary>Unmaps what <see cref="Select"/> picks for <paramref name="path"/> in this process.</summary>
    public static long Release(string path)
    {
        string smaps;
        try { smaps = File.ReadAllText("/proc/self/smaps"); }
        catch (IOException) { return 0; }
        long released = 0;
        foreach (var mapping in Select(smaps, path))
            if (Native.Madvise(mapping.Start, mapping.Length, MADV_DONTNEED) == 0)
                released += mapping.ResidentKb;
        return released;
    }

    private static string ExecutablePath()
    {
        try { return new FileInfo("/proc/self/exe").LinkTarget ?? ""; }
        catch (IOException) { return ""; }
    }

    /// <summary>
    /// The private mappings of <paramref name="path"/> in an smaps text that are neither writable nor
    /// hold an anonymous (copied) page, and have something resident.
    /// </summary>
    internal static List<Releasable> Select(string smaps, string path)
    {
        var picked = new List<Releasable>();
        if (path.Length == 0) return picked;
        nint start = 0;
        nuint length = 0;
        var candidate = false;
        long rss = 0, anonymous = 0;
        void Close()
        {
            if (candidate && rss > 0 && anonymous == 0) picked.Add(new Releasable(start, length, rss));
            candidate = false;
        }
        foreach (var line in smaps.AsSpan().EnumerateLines())
        {
            var colon = line.IndexOf(':');
            var dash = line.IndexOf('-');
            if (dash > 0 && (colon < 0 || dash < colon) && IsHex(line[..dash]))
            {
                // "start-end perms offset dev inode path": a new mapping.
                Close();
                var fields = line.ToString().Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
                if (fields.Length < 6) continue;
                var bounds = fields[0].Split('-');
                var from = ulong.Parse(bounds[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                var to = ulong.Parse(bounds[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                start = (nint)from;
                length = (nuint)(to - from);
                var perms = fields[1];
                candidate = perms.Length == 4 && perms[1] == '-' && perms[3] == 'p' && fields[5].Trim() == path;
                rss = anonymous = 0;
            }
            else if (candidate && line.StartsWith("Rss:"))
                rss = Kilobytes(line);
            else if (candidate && line.StartsWith("Anonymous:"))
                anonymous = Kilobytes(line);
        }
        Close();
        return picked;
    }

    private static bool IsHex(ReadOnlySpan<char> s)
    {
        foreach (var c in s)
            if (!char.IsAsciiHexDigit(c)) return false;
        return s.Length > 0;
    }

    private static long Kilobytes(ReadOnlySpan<char> line)
    {
        var value = line[(line.IndexOf(':') + 1)..].Trim();
        var space = value.IndexOf(' ');
        return long.Parse(space < 0 ? value : value[..space], CultureInfo.InvariantCulture);
    }
}
