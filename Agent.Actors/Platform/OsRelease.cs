using System.Text;

namespace Agent.Actors.Platform;

/// <summary>
/// os-release as qemu-ga reads it: a GKeyFile with "[os-release]" prepended (so a line GKeyFile
/// rejects discards the whole file), each value then unquoted the shell way. qemu truncates
/// single-quoted values at the first space ('a b' becomes 'a); here they are unquoted properly.
/// </summary>
public static class OsRelease
{
    private const string Group = "os-release";

    /// <summary>The key/value pairs of the file, or null if it cannot be read, is not UTF-8, or is not a valid key file.</summary>
    public static IReadOnlyDictionary<string, string>? Load(string path) =>
        GuestFiles.ReadBytesOrNull(path) is { } bytes ? Parse(bytes) : null;

    /// <summary>The values of the file's bytes; null when they are not UTF-8 or not a valid key file.</summary>
    public static IReadOnlyDictionary<string, string>? Parse(byte[] bytes)
    {
        string text;
        try { text = StrictUtf8.GetString(bytes); }
        catch (DecoderFallbackException) { return null; }
        return Parse(text);
    }

    private static readonly UTF8Encoding StrictUtf8 = new(false, throwOnInvalidBytes: true);

    /// <summary>Raw values of the "[os-release]" group, GKeyFile rules; null when GKeyFile would fail to load the text.</summary>
    public static IReadOnlyDictionary<string, string>? Parse(string text)
    {
        var values = new Dictionary<string, string>();
        var group = Group;
        foreach (var rawLine in text.Split('\n'))
        {
            var line = rawLine.TrimStart(' ', '\t', '\r', '\f', '\v');
            if (line.Length == 0 || line[0] == '#') continue;
            if (line[0] == '[')
            {
                var close = line.IndexOf(']');
                if (close < 0 || line[(close + 1)..].Trim().Length != 0) return null;
                group = line[1..close];
                continue;
            }
            var eq = line.IndexOf('=');
            if (eq <= 0) return null;
            var key = line[..eq].TrimEnd(' ', '\t');
            if (key.Length == 0 || !IsKeyName(key)) return null;
            var value = line[(eq + 1)..].TrimStart(' ', '\t', '\r', '\f', '\v');
            if (group == Group) values[key] = value;
        }
        return values;
    }

    /// <summary>GKeyFile key names: no '[' or ']' except a trailing locale suffix, no leading or trailing space.</summary>
    private static bool IsKeyName(string key)
    {
        if (char.IsWhiteSpace(key[0]) || char.IsWhiteSpace(key[^1])) return false;
        var open = key.IndexOf('[');
        if (open < 0) return key.IndexOf(']') < 0;
        return open > 0 && key[^1] == ']' && key.IndexOf(']') == key.Length - 1 && key.IndexOf('[', open + 1) < 0;
    }

    /// <summary>
    /// Shell-style unquoting of one value. Double quotes: up to the next unescaped quote, with
    /// \$ \' \" \\ \` losing their backslash and any other backslash kept (qemu's rules). Single
    /// quotes: up to the next quote, nothing escaped (the shell's rule; qemu's bug is not copied).
    /// Unquoted: cut at the first space, then at the first ';' (qemu's rule).
    /// </summary>
    public static string Unquote(string value)
    {
        if (value.Length > 0 && value[0] == '\'')
        {
            var end = value.IndexOf('\'', 1);
            return end < 0 ? value[1..] : value[1..end];
        }
        if (value.Length == 0 || value[0] != '"')
        {
            var space = value.IndexOf(' ');
            if (space >= 0) value = value[..space];
            var semicolon = value.IndexOf(';');
            return semicolon >= 0 ? value[..semicolon] : value;
        }
        var sb = new StringBuilder(value.Length);
        for (var i = 1; i < value.Length; i++)
        {
            var c = value[i];
            if (c == '\\' && i + 1 < value.Length && value[i + 1] is '$' or '\'' or '"' or '\\' or '`')
            {
                sb.Append(value[++i]);
                continue;
            }
            if (c == '"') break;
            sb.Append(c);
        }
        return sb.ToString();
    }
}

/// <summary>
/// One os-release path whose parsed values are kept while the file provably has not changed: a statx
/// (one call, where reading costs open, two reads and close, then the parse) must show the same
/// device, inode, size, mtime and ctime as before the kept read. Every write or rename sets ctime to
/// the current time, so values are kept only when the read got the whole file and its ctime is
/// seconds older than the read (a write right after it in the same clock tick would leave ctime as
/// it was). Anything else (not a regular file, a ctime in the future) is read every time, as qemu-ga
/// does (qga/commands-posix.c, ga_parse_osrelease).
/// </summary>
public sealed unsafe class OsReleaseFile(string path, IClock clock)
{
    private readonly record struct Identity(uint DevMajor, uint DevMinor, ulong Inode, ulong Size, long MtimeSec, uint MtimeNsec, long CtimeSec, uint CtimeNsec);

    private Identity? _kept;
    private IReadOnlyDictionary<string, string>? _values;

    public string Path { get; } = path;

    /// <summary>The values <see cref="OsRelease.Load"/> would return now.</summary>
    public IReadOnlyDictionary<string, string>? Load()
    {
        // The clock before the statx: a write after the read then gets a ctime of this second or later.
        var nowSeconds = clock.UnixMicroseconds() / 1_000_000;
        var before = Stat();
        if (before is { } identity && identity == _kept) return _values;
        _kept = null;
        _values = null;
        var bytes = GuestFiles.ReadBytesOrNull(Path);
        var values = bytes is null ? null : OsRelease.Parse(bytes);
        if (before is { } b && bytes is not null && (ulong)bytes.Length == b.Size && b.CtimeSec < nowSeconds - 1)
        {
            _kept = b;
            _values = values;
        }
        return values;
    }

    private Identity? Stat()
    {
        var buf = stackalloc byte[Native.StatxBufferSize];
        if (Native.Statx(Native.AtFdCwd, Path, 0, Native.StatxBasicStats, buf) != 0) return null;
        if ((*(ushort*)(buf + Native.StatxModeOffset) & Native.FileTypeMask) != Native.RegularFileType) return null;
        return new Identity(
            *(uint*)(buf + Native.StatxDevMajorOffset), *(uint*)(buf + Native.StatxDevMinorOffset), *(ulong*)(buf + Native.StatxInoOffset),
            *(ulong*)(buf + Native.StatxSizeOffset), *(long*)(buf + Native.StatxMtimeOffset), *(uint*)(buf + Native.StatxMtimeOffset + 8),
            *(long*)(buf + Native.StatxCtimeOffset), *(uint*)(buf + Native.StatxCtimeOffset + 8));
    }
}
