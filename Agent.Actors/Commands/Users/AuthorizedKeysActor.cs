using System.Runtime.InteropServices;
using Agent.Actors.Platform;
using Agent.Protocol.Json;
using Agent.Protocol.Schema;
using Akka.Actor;

namespace Agent.Actors.Commands.Users;

/// <summary>
/// guest-ssh-add-authorized-keys and guest-ssh-remove-authorized-keys with qemu-ga's semantics (spec
/// §3.8): users come from &lt;etc&gt;/passwd; ~/.ssh is created 0700 and owned by the user; the key file
/// is rewritten atomically (lines joined with '\n', no trailing newline), owned by the user, mode 0600.
/// Unlike glib's g_file_set_contents the new file is created 0600 and chowned before the rename, so
/// it is never briefly readable by others.
/// </summary>
public sealed class AuthorizedKeysActor : CommandActor
{
    public static readonly CommandFamily Family = new(
        "ssh",
        ["guest-ssh-add-authorized-keys", "guest-ssh-remove-authorized-keys"],
        ctx => Props(ctx.Settings.Paths.Etc));

    public static Props Props(string etc) => Akka.Actor.Props.Create(() => new AuthorizedKeysActor(etc));

    private readonly string _etc;

    public AuthorizedKeysActor(string etc)
    {
        _etc = etc;
        Handle("guest-ssh-add-authorized-keys", args =>
            Add(args.String("username"), args.OptStrings("keys")!, args.OptBool("reset") == true));
        Handle("guest-ssh-remove-authorized-keys", args => Remove(args.String("username"), args.OptStrings("keys")!));
    }

    private JsonValue Add(string username, IReadOnlyList<string> keys, bool reset)
    {
        CheckKeys(keys);
        var user = LookUp(username);
        var sshDir = Path.Join(user.Home, ".ssh");
        var path = Path.Join(sshDir, "authorized_keys");

        var lines = reset ? null : ReadOrNull(path);
        if (lines is null && !Directory.Exists(sshDir)) CreateUserDirectory(sshDir, user);
        lines ??= [];
        foreach (var key in keys)
            if (!lines.Contains(key)) lines.Add(key);
        Write(path, lines, user);
        return JsonObject.Empty;
    }

    private JsonValue Remove(string username, IReadOnlyList<string> keys)
    {
        CheckKeys(keys);
        var user = LookUp(username);
        var path = Path.Join(user.Home, ".ssh", "authorized_keys");
        if (!Path.Exists(path)) return JsonObject.Empty;
        var lines = ReadOrNull(path) ?? throw new CommandException(
            $"failed to read '{path}': Failed to open file \u201c{path}\u201d: {ReadError(path)}");
        Write(path, lines.Where(l => !keys.Contains(l)).ToList(), user);
        return JsonObject.Empty;
    }

    private static void CheckKeys(IReadOnlyList<string> keys)
    {
        foreach (var key in keys)
            if (key.Length == 0 || key[0] == '#' || key.Contains('\n'))
                throw new CommandException($"invalid OpenSSH public key: '{key}'");
    }

    private PasswdEntry LookUp(string username)
    {
        PasswdEntry? user;
        try { user = PasswdFile.Find(_etc, username); }
        catch (PlatformException ex) { throw new CommandException($"failed to lookup user '{username}': {ex.Message}"); }
        // getpwnam_r reports "not found" with errno 0, which glib turns into "Success".
        return user ?? throw new CommandException($"failed to lookup user '{username}': Success");
    }

    /// <summary>The file split on '\n' as g_strsplit does (a trailing newline leaves an empty last line); null when unreadable.</summary>
    private static List<string>? ReadOrNull(string path)
    {
        try
        {
            var text = File.ReadAllText(path);
            return text.Length == 0 ? [] : text.Split('\n').ToList();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return null; }
    }

    private static string ReadError(string path)
    {
        try
        {
            File.ReadAllBytes(path);
            return "Unknown error";
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return GuestFiles.ErrnoText(ex); }
    }

    private static void CreateUserDirectory(string dir, PasswdEntry user)
    {
        try { Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CommandException($"failed to create directory '{dir}': {GuestFiles.ErrnoText(ex)}");
        }
        if (Native.Chown(dir, user.Uid, user.Gid) != 0)
            throw new CommandException($"failed to set ownership of directory '{dir}': {Native.StrError(Marshal.GetLastPInvokeError())}");
        // mkdir's mode passed through the umask; the directory must be exactly 0700.
        try { File.SetUnixFileMode(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CommandException($"failed to set permissions of directory '{dir}': {GuestFiles.ErrnoText(ex)}");
        }
    }

    /// <summary>Writes a sibling temp file (0600, owned by the user, synced), then renames it over the key file.</summary>
    private static void Write(string path, IReadOnlyList<string> lines, PasswdEntry user)
    {
        var temp = $"{path}.{Guid.NewGuid():N}"[..(path.Length + 7)];
        try
        {
            using (var stream = new FileStream(temp, new FileStreamOptions
                   {
                       Mode = FileMode.CreateNew,
                       Access = FileAccess.Write,
                       UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
                   }))
            {
                stream.Write(System.Text.Encoding.UTF8.GetBytes(string.Join('\n', lines)));
                stream.Flush(flushToDisk: true);
                if (Native.FChown((int)stream.SafeFileHandle.DangerousGetHandle(), user.Uid, user.Gid) != 0)
                    throw new CommandException($"failed to set ownership of directory '{path}': {Native.StrError(Marshal.GetLastPInvokeError())}");
            }
            File.Move(temp, path, overwrite: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CommandException($"failed to write to '{path}': Failed to create file \u201c{temp}\u201d: {GuestFiles.ErrnoText(ex)}");
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }
}
