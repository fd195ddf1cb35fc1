using System.Runtime.InteropServices;
using System.Security.Cryptography;
using A = Agent.Actors.Platform.Native.At;
using F = Agent.Actors.Platform.Native.Files;

namespace Agent.Actors.Platform;

/// <summary>
/// A path under a user's home refused or failed. <see cref="Errno"/> is the OS's answer (the message
/// is its strerror text), or 0 when a check refused it (the message says why, e.g. "~/.ssh is a
/// symbolic link").
/// </summary>
public sealed class UserPathException(string message, int errno) : Exception(message)
{
    public int Errno { get; } = errno;
}

/// <summary>
/// A directory of a guest user's tree, held open, through which the agent (root) reads and writes on
/// the user's behalf without ever following a link the user controls (README, "Files of guest users").
/// The home path is resolved from "/" one component at a time: while every directory so far is
/// root's alone (owned by root, writable by no other user or group) a symbolic link is followed, as
/// root chose it (/home → /var/home); from the first directory anybody else can write, components
/// are opened with O_NOFOLLOW, must be owned by the user or root, and ".." is refused. Files are
/// opened O_NOFOLLOW|O_NONBLOCK (a FIFO cannot stall the call) and must be regular; inside the
/// user's part they must also have a single link and the right owner. New files and directories are
/// created relative to the held descriptor, given owner and mode through their own descriptor, and
/// replace the old name with renameat in the same held directory. Every call blocks on the guest's
/// filesystem: run it off actor threads (<see cref="BlockingCallThreads"/>).
/// </summary>
public sealed class UserTree : IDisposable
{
    private const int MaxSymlinks = 40;

    private readonly int _fd;
    private readonly PasswdEntry _user;

    /// <summary>True once the walk passed a directory someone other than root can write.</summary>
    private readonly bool _guarded;

    /// <summary>The directory's path as the user knows it (under the passwd home).</summary>
    public string Path { get; }

    private UserTree(int fd, bool guarded, string path, PasswdEntry user)
    {
        _fd = fd;
        _guarded = guarded;
        Path = path;
        _user = user;
    }

    /// <summary>The user's home directory; throws <see cref="UserPathException"/>.</summary>
    public static UserTree OpenHome(PasswdEntry user)
    {
        if (!user.Home.StartsWith('/')) throw new UserPathException($"the home directory '{user.Home}' is not an absolute path", 0);
        var root = OpenRoot();
        try
        {
            var (fd, guarded) = Walk(root, user.Home, user, fileLast: false, out _);
            return new UserTree(fd, guarded, user.Home.TrimEnd('/') is { Length: > 0 } h ? h : "/", user);
        }
        finally { Close(root.Fd); }
    }

    /// <summary>"~/.ssh/authorized_keys" for a name under the home, else the full path.</summary>
    public string Show(string? name = null) => Shown(_user, name is null ? Path : System.IO.Path.Join(Path, name));

    /// <summary>The subdirectory <paramref name="name"/>, or null when it does not exist.</summary>
    public UserTree? OpenDirectory(string name)
    {
        try
        {
            var (fd, guarded) = Walk((_fd, _guarded, Path), name, _user, fileLast: false, out _);
            return new UserTree(fd, guarded, System.IO.Path.Join(Path, name), _user);
        }
        catch (UserPathException e) when (e.Errno == A.ENOENT) { return null; }
    }

    /// <summary>
    /// The subdirectory <paramref name="name"/>, created (mkdirat, then owner and exact mode set on
    /// its own descriptor) when missing. Returns whether it was created.
    /// </summary>
    public UserTree CreateDirectory(string name, uint mode, out bool created)
    {
        created = false;
        if (OpenDirectory(name) is { } existing) return existing;
        if (Native.MkdirAt(_fd, name, 0x1C0 /* 0700 */) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            if (errno != F.EEXIST) throw Failed(errno);
        }
        else created = true;
        var dir = OpenDirectory(name) ?? throw Failed(A.ENOENT);
        if (!created) return dir;
        try
        {
            // On the descriptor: whatever now sits at the name, this is the directory just checked.
            if (Native.FChown(dir._fd, _user.Uid, _user.Gid) != 0 || Native.FChmod(dir._fd, mode) != 0)
                throw Failed(Marshal.GetLastPInvokeError());
            return dir;
        }
        catch
        {
            dir.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The content of the regular file <paramref name="name"/>, or null when it does not exist.
    /// Inside the user's part the file must have one link and be owned by the user (or by root when
    /// <paramref name="rootMayOwn"/>). Refuses files larger than <paramref name="limit"/> bytes.
    /// </summary>
    public byte[]? ReadFile(string name, int limit, bool rootMayOwn)
    {
        int dirFd;
        bool guarded;
        string last;
        try { (dirFd, guarded) = Walk((_fd, _guarded, Path), name, _user, fileLast: true, out last); }
        catch (UserPathException e) when (e.Errno == A.ENOENT) { return null; }
        var shown = Show(name);
        try
        {
            // A look first, so a device or FIFO is refused without being opened at all; the open
            // below checks again on the descriptor, which is what counts if the name was swapped.
            if (Native.StatAt(dirFd, last, follow: false, out var before) == 0 && before.Type != A.S_IFREG)
                throw before.Type == A.S_IFLNK
                    ? new UserPathException($"{shown} is a symbolic link", 0)
                    : new UserPathException($"{shown} is not a regular file ({TypeName(before.Type)})", 0);
            var fd = Native.OpenAt(dirFd, last, F.O_RDONLY | A.O_NOFOLLOW | F.O_NONBLOCK | F.O_NOCTTY | F.O_CLOEXEC, 0);
            if (fd < 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                if (errno == A.ENOENT) return null;
                throw errno == A.ELOOP ? new UserPathException($"{shown} is a symbolic link", 0) : Failed(errno);
            }
            try
            {
                var st = Status(fd);
                if (st.Type != A.S_IFREG) throw new UserPathException($"{shown} is not a regular file ({TypeName(st.Type)})", 0);
                if (guarded) CheckOwnedFile(st, shown, rootMayOwn);
                if (st.Size > limit) throw new UserPathException($"{shown} is larger than {limit} bytes", 0);
                return ReadAll(fd, limit, shown);
            }
            finally { Close(fd); }
        }
        finally { if (dirFd != _fd) Close(dirFd); }
    }

    /// <summary>
    /// Replaces <paramref name="name"/> atomically: a new file under a random exclusive name in this
    /// directory (mode 0600 from the start, then owner and <paramref name="mode"/> on the descriptor,
    /// synced), renamed over the old name, then the directory synced. <paramref name="tempName"/> is
    /// set as soon as a temp name is chosen, for error texts.
    /// </summary>
    public void ReplaceFile(string name, ReadOnlySpan<byte> content, uint mode, out string tempName)
    {
        int fd;
        var attempts = 0;
        while (true)
        {
            tempName = System.IO.Path.Join(Path, $"{name}.{RandomSuffix()}");
            fd = Native.OpenAt(_fd, System.IO.Path.GetFileName(tempName),
                F.O_WRONLY | F.O_CREAT | F.O_EXCL | A.O_NOFOLLOW | F.O_CLOEXEC, 0x180 /* 0600 */);
            if (fd >= 0) break;
            var errno = Marshal.GetLastPInvokeError();
            if (errno != F.EEXIST || ++attempts == 100) throw Failed(errno);
        }
        var temp = System.IO.Path.GetFileName(tempName);
        var renamed = false;
        try
        {
            try
            {
                WriteAll(fd, content);
                if (Native.FChown(fd, _user.Uid, _user.Gid) != 0 || Native.FChmod(fd, mode) != 0 || Native.FSync(fd) != 0)
                    throw Failed(Marshal.GetLastPInvokeError());
            }
            finally { Close(fd); }
            if (Native.RenameAt(_fd, temp, _fd, name) != 0) throw Failed(Marshal.GetLastPInvokeError());
            renamed = true;
            Native.FSync(_fd);
        }
        finally
        {
            if (!renamed) Native.UnlinkAt(_fd, temp, 0);
        }
    }

    public void Dispose() => Close(_fd);

    private static string RandomSuffix()
    {
        const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        return RandomNumberGenerator.GetString(alphabet, 6);
    }

    private static (int Fd, bool Guarded, string Shown) OpenRoot()
    {
        var fd = Native.OpenAt(Native.AtFdCwd, "/", F.O_RDONLY | A.O_DIRECTORY | F.O_CLOEXEC, 0);
        if (fd < 0) throw Failed(Marshal.GetLastPInvokeError());
        return (fd, !RootsAlone(Status(fd)), "");
    }

    /// <summary>Owned by root and writable by nobody else: only root can have put a link there.</summary>
    private static bool RootsAlone(Native.FileStatus st) =>
        st.Uid == 0 && (st.Mode & 0x2) == 0 && ((st.Mode & 0x10) == 0 || st.Gid == 0);

    /// <summary>
    /// Walks <paramref name="relative"/> from <paramref name="start"/> (whose descriptor stays open) and
    /// returns the last directory opened. With <paramref name="fileLast"/> the last component is not
    /// opened: its directory comes back and <paramref name="last"/> names it (a root-only link there
    /// already followed).
    /// </summary>
    private static (int Fd, bool Guarded) Walk((int Fd, bool Guarded, string Shown) start, string relative, PasswdEntry user,
        bool fileLast, out string last)
    {
        var pending = new LinkedList<string>(Components(relative));
        var cur = start;
        var links = 0;
        last = ".";
        try
        {
            while (pending.First is { } node)
            {
                var name = node.Value;
                pending.RemoveFirst();
                var isLast = pending.Count == 0;
                var shown = cur.Shown.TrimEnd('/') + "/" + name;

                if (name == "..")
                {
                    if (cur.Guarded) throw new UserPathException($"{Shown(user, shown)} goes up with '..' inside a user's directory", 0);
                }
                else if (!cur.Guarded)
                {
                    // Root's own directory: a link here is root's choice and is followed, resolved by
                    // this walk so that its target is checked the same way.
                    if (Native.StatAt(cur.Fd, name, follow: false, out var st) != 0)
                    {
                        var errno = Marshal.GetLastPInvokeError();
                        if (isLast && fileLast && errno == A.ENOENT) { last = name; return (cur.Fd, cur.Guarded); }
                        throw Failed(errno);
                    }
                    if (st.Type == A.S_IFLNK)
                    {
                        if (++links > MaxSymlinks) throw Failed(A.ELOOP);
                        var target = ReadLink(cur.Fd, name);
                        foreach (var c in Components(target).Reverse()) pending.AddFirst(c);
                        if (target.StartsWith('/'))
                        {
                            var root = OpenRoot();
                            if (cur.Fd != start.Fd) Close(cur.Fd);
                            cur = root;
                        }
                        continue;
                    }
                }

                if (isLast && fileLast)
                {
                    last = name;
                    return (cur.Fd, cur.Guarded);
                }

                var fd = Native.OpenAt(cur.Fd, name, F.O_RDONLY | A.O_DIRECTORY | A.O_NOFOLLOW | F.O_CLOEXEC, 0);
                if (fd < 0) throw Explain(Marshal.GetLastPInvokeError(), cur.Fd, name, Shown(user, shown));
                var dir = Status(fd);
                if (cur.Guarded && dir.Uid != user.Uid && dir.Uid != 0)
                {
                    Close(fd);
                    throw new UserPathException($"{Shown(user, shown)} is owned by uid {dir.Uid}, not by {user.Name} or root", 0);
                }
                var next = (fd, cur.Guarded || !RootsAlone(dir), name == ".." ? Parent(cur.Shown) : shown);
                if (cur.Fd != start.Fd) Close(cur.Fd);
                cur = next;
            }
            if (fileLast) throw new UserPathException($"{Shown(user, cur.Shown)} names no file", 0);
            if (cur.Fd == start.Fd)
            {
                // An empty walk: hand back a descriptor of its own.
                var fd = Native.OpenAt(cur.Fd, ".", F.O_RDONLY | A.O_DIRECTORY | F.O_CLOEXEC, 0);
                if (fd < 0) throw Failed(Marshal.GetLastPInvokeError());
                return (fd, cur.Guarded);
            }
            return (cur.Fd, cur.Guarded);
        }
        catch
        {
            if (cur.Fd != start.Fd) Close(cur.Fd);
            throw;
        }
    }

    private static IEnumerable<string> Components(string path) =>
        path.Split('/').Where(c => c.Length > 0 && c != ".");

    private static string Parent(string shown)
    {
        var i = shown.TrimEnd('/').LastIndexOf('/');
        return i <= 0 ? "" : shown[..i];
    }

    private static string Shown(PasswdEntry user, string full)
    {
        var home = user.Home.TrimEnd('/');
        if (full == home) return "~";
        return home.Length > 0 && full.StartsWith(home + "/", StringComparison.Ordinal) ? "~" + full[home.Length..] : full;
    }

    /// <summary>Why an O_NOFOLLOW|O_DIRECTORY open failed, in words where the errno is only a symptom.</summary>
    private static UserPathException Explain(int errno, int dirFd, string name, string shown)
    {
        if ((errno == A.ELOOP || errno == A.ENOTDIR) && Native.StatAt(dirFd, name, follow: false, out var st) == 0)
        {
            if (st.Type == A.S_IFLNK) return new UserPathException($"{shown} is a symbolic link", 0);
            if (st.Type != A.S_IFDIR) return new UserPathException($"{shown} is not a directory ({TypeName(st.Type)})", 0);
        }
        return Failed(errno);
    }

    private void CheckOwnedFile(Native.FileStatus st, string shown, bool rootMayOwn)
    {
        if (st.Nlink > 1) throw new UserPathException($"{shown} has {st.Nlink} hard links", 0);
        if (st.Uid != _user.Uid && !(rootMayOwn && st.Uid == 0))
            throw new UserPathException($"{shown} is owned by uid {st.Uid}, not by {_user.Name}", 0);
    }

    private static string TypeName(uint type) => type switch
    {
        A.S_IFDIR => "a directory",
        A.S_IFLNK => "a symbolic link",
        A.S_IFIFO => "a FIFO",
        A.S_IFCHR => "a character device",
        A.S_IFBLK => "a block device",
        A.S_IFSOCK => "a socket",
        _ => "a special file",
    };

    private static unsafe string ReadLink(int dirFd, string name)
    {
        var buffer = new byte[4096];
        fixed (byte* p = buffer)
        {
            var n = Native.ReadLinkAt(dirFd, name, p, buffer.Length);
            if (n < 0) throw Failed(Marshal.GetLastPInvokeError());
            if (n == buffer.Length) throw Failed(A.ELOOP);
            return System.Text.Encoding.UTF8.GetString(buffer, 0, (int)n);
        }
    }

    private static unsafe byte[] ReadAll(int fd, int limit, string shown)
    {
        using var content = new MemoryStream();
        var buffer = new byte[65536];
        fixed (byte* p = buffer)
        {
            while (true)
            {
                var n = Native.Read(fd, p, buffer.Length);
                if (n < 0)
                {
                    var errno = Marshal.GetLastPInvokeError();
                    if (errno == F.EINTR) continue;
                    throw Failed(errno);
                }
                if (n == 0) break;
                content.Write(buffer, 0, (int)n);
                if (content.Length > limit) throw new UserPathException($"{shown} is larger than {limit} bytes", 0);
            }
        }
        return content.ToArray();
    }

    private static unsafe void WriteAll(int fd, ReadOnlySpan<byte> content)
    {
        fixed (byte* p = content)
        {
            var done = 0;
            while (done < content.Length)
            {
                var n = Native.Write(fd, p + done, content.Length - done);
                if (n < 0)
                {
                    var errno = Marshal.GetLastPInvokeError();
                    if (errno == F.EINTR) continue;
                    throw Failed(errno);
                }
                done += (int)n;
            }
        }
    }

    private static Native.FileStatus Status(int fd)
    {
        if (Native.StatAt(fd, "", follow: false, out var st) != 0) throw Failed(Marshal.GetLastPInvokeError());
        return st;
    }

    private static UserPathException Failed(int errno) => new(Native.StrError(errno), errno);

    private static void Close(int fd)
    {
        if (fd >= 0) Native.Close(fd);
    }
}
