using Agent.Actors.Settings;
using Agent.Actors.Platform;

namespace Agent.Actors.Commands.Users;

/// <summary>
/// ~/.ssh/authorized_keys read and rewritten through <see cref="UserTree"/>, with qemu-ga's texts
/// (qga/commands-posix-ssh.c) where the OS refused and the reason where the agent did. Akka-free and
/// blocking: the actors run these on their blocking-call threads.
/// </summary>
public static class AuthorizedKeysFile
{
    private const string SshDirectory = ".ssh";
    private const string FileName = "authorized_keys";
    private const uint DirectoryMode = 0x1C0 /* 0700 */, FileMode = 0x180 /* 0600 */;

    /// <summary>guest-ssh-get-authorized-keys: the file's lines, decoded.</summary>
    public static IReadOnlyList<string> Read(string etc, string username, int limit)
    {
        var user = LookUp(etc, username);
        var path = KeyPath(user);
        byte[]? content;
        try
        {
            using var home = UserTree.OpenHome(user);
            using var ssh = home.OpenDirectory(SshDirectory) ?? throw new UserPathException(Native.StrError(Native.At.ENOENT), Native.At.ENOENT);
            content = ssh.ReadFile(FileName, limit, rootMayOwn: true);
        }
        catch (UserPathException e) { throw ReadFailed(path, e); }
        if (content is null) throw ReadFailed(path, new UserPathException(Native.StrError(Native.At.ENOENT), Native.At.ENOENT));
        return OsString.Decode(content).Split('\n');
    }

    /// <summary>guest-ssh-add-authorized-keys; keys already checked.</summary>
    public static void Add(string etc, string username, IReadOnlyList<string> keys, bool reset, int limit)
    {
        var user = LookUp(etc, username);
        var sshPath = Path.Join(user.Home, SshDirectory);
        var path = KeyPath(user);
        UserTree home;
        try { home = UserTree.OpenHome(user); }
        catch (UserPathException e) { throw new CommandException($"failed to create directory '{sshPath}': {e.Message}"); }
        using (home)
        {
            UserTree ssh;
            try { ssh = home.CreateDirectory(SshDirectory, DirectoryMode, out _); }
            catch (UserPathException e) { throw new CommandException($"failed to create directory '{sshPath}': {e.Message}"); }
            using (ssh)
            {
                List<byte[]> lines = [];
                if (!reset)
                {
                    // As qemu-ga, an unreadable file counts as empty and is replaced; a file refused
                    // for what it is (a link, a FIFO, someone else's) stops the call instead.
                    try { lines = SplitLines(ssh.ReadFile(FileName, limit, rootMayOwn: false)); }
                    catch (UserPathException e) when (e.Errno == 0) { throw ReadFailed(path, e); }
                    catch (UserPathException) { }
                }
                foreach (var key in keys.Select(OsString.Encode))
                    if (!lines.Any(l => l.AsSpan().SequenceEqual(key))) lines.Add(key);
                Write(ssh, path, lines);
            }
        }
    }

    /// <summary>guest-ssh-remove-authorized-keys; keys already checked. No key file: nothing to do.</summary>
    public static void Remove(string etc, string username, IReadOnlyList<string> keys, int limit)
    {
        var user = LookUp(etc, username);
        var path = KeyPath(user);
        try
        {
            using var home = UserTree.OpenHome(user);
            using var ssh = home.OpenDirectory(SshDirectory);
            if (ssh is null) return;
            var content = ssh.ReadFile(FileName, limit, rootMayOwn: false);
            if (content is null) return;
            var drop = keys.Select(OsString.Encode).ToList();
            Write(ssh, path, SplitLines(content).Where(l => !drop.Any(k => k.AsSpan().SequenceEqual(l))).ToList());
        }
        catch (UserPathException e) { throw ReadFailed(path, e); }
    }

    private static string KeyPath(PasswdEntry user) => Path.Join(user.Home, SshDirectory, FileName);

    private static PasswdEntry LookUp(string etc, string username)
    {
        PasswdEntry? user;
        try { user = PasswdFile.Find(etc, username); }
        catch (PlatformException ex) { throw new CommandException($"failed to lookup user '{username}': {ex.Message}"); }
        // getpwnam_r reports "not found" with errno 0, which glib turns into "Success".
        return user ?? throw new CommandException($"failed to lookup user '{username}': Success");
    }

    private static CommandException ReadFailed(string path, UserPathException e) => new(e.Errno != 0
        ? $"failed to read '{path}': Failed to open file \u201c{path}\u201d: {e.Message}"
        : $"failed to read '{path}': {e.Message}");

    /// <summary>Split on '\n' as g_strsplit does (a trailing newline leaves an empty last line); nothing for an empty or missing file.</summary>
    private static List<byte[]> SplitLines(byte[]? content)
    {
        List<byte[]> lines = [];
        if (content is null || content.Length == 0) return lines;
        var rest = content.AsSpan();
        while (true)
        {
            var nl = rest.IndexOf((byte)'\n');
            lines.Add((nl < 0 ? rest : rest[..nl]).ToArray());
            if (nl < 0) return lines;
            rest = rest[(nl + 1)..];
        }
    }

    /// <summary>Lines joined with '\n', no trailing newline, as qemu-ga writes them.</summary>
    private static void Write(UserTree ssh, string path, List<byte[]> lines)
    {
        var content = new MemoryStream();
        for (var i = 0; i < lines.Count; i++)
        {
            if (i > 0) content.WriteByte((byte)'\n');
            content.Write(lines[i]);
        }
        var temp = path;
        try { ssh.ReplaceFile(FileName, content.GetBuffer().AsSpan(0, (int)content.Length), FileMode, out temp); }
        catch (UserPathException e)
        {
            throw new CommandException($"failed to write to '{path}': Failed to create file \u201c{temp}\u201d: {e.Message}");
        }
    }
}
