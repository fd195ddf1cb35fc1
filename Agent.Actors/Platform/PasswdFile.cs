namespace Agent.Actors.Platform;

/// <summary>One line of passwd(5).</summary>
public sealed record PasswdEntry(string Name, uint Uid, uint Gid, string Home, string Shell);

/// <summary>User lookup in &lt;etc&gt;/passwd (the "files" NSS source), so tests can supply their own users.</summary>
public static class PasswdFile
{
    /// <summary>
    /// The first entry named <paramref name="user"/>, or null when there is none. Throws
    /// <see cref="PlatformException"/> with the errno text when the file cannot be read.
    /// </summary>
    public static PasswdEntry? Find(string etc, string user)
    {
        string[] lines;
        try { lines = File.ReadAllLines(Path.Join(etc, "passwd")); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { throw new PlatformException(GuestFiles.ErrnoText(ex)); }
        foreach (var line in lines)
        {
            var f = line.Split(':');
            if (f.Length < 7 || f[0] != user) continue;
            if (!uint.TryParse(f[2], out var uid) || !uint.TryParse(f[3], out var gid)) continue;
            return new PasswdEntry(f[0], uid, gid, f[5], f[6]);
        }
        return null;
    }
}
