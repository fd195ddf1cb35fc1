using Agent.Actors.Settings;
using System.Diagnostics;
using System.Runtime.InteropServices;
using Agent.Actors.Commands;
using Agent.Actors.Commands.Users;
using Agent.Protocol.Json;
using Akka.Actor;
using Xunit.Abstractions;
using Agent.Tests.Commands;
using Agent.Tests.Commands.Users;

namespace Agent.Tests.Platform;

/// <summary>
/// The ssh-key commands against a guest user who attacks the agent through their own tree: a fake
/// user (uid 4242) whose home, in a temp tree, they own; root's secrets sit next to it. The tests run
/// as root, so chown, mknod and hard links to root's files work.
/// </summary>
public sealed partial class UserTreeSpecs : GuestControlSpecBase
{
    private const uint Uid = 4242, Gid = 4343;
    private const string Secret = "algo ROOT-SECRET root@host";
    private readonly string _home, _rootSsh, _secretFile;

    public UserTreeSpecs(ITestOutputHelper output) : base(output)
    {
        _home = Path.Combine(Guest.Root, "home", "alice");
        Directory.CreateDirectory(_home);
        Chown(_home, Uid, Gid);
        // Root's own key directory, which the user must never reach.
        _rootSsh = Path.Combine(Guest.Root, "rootssh");
        Directory.CreateDirectory(_rootSsh, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        _secretFile = Path.Combine(_rootSsh, "authorized_keys");
        File.WriteAllText(_secretFile, Secret);
        File.SetUnixFileMode(_secretFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        Directory.CreateDirectory(Path.Combine(Guest.Root, "etc"));
        File.WriteAllText(Path.Combine(Guest.Root, "etc", "passwd"),
            $"root:x:0:0:root:/root:/bin/sh\nalice:x:{Uid}:{Gid}:Alice:{_home}:/bin/bash\n");
    }

    private string SshDir => Path.Combine(_home, ".ssh");
    private string KeyFile => Path.Combine(SshDir, "authorized_keys");

    private IActorRef Keys() => Sys.ActorOf(AuthorizedKeysActor.Props(Path.Combine(Guest.Root, "etc"), new SshSettings(1024 * 1024)));
    private IActorRef Users() => Sys.ActorOf(UsersActor.Props(Settings()));

    private static JsonObject Add(params string[] keys) =>
        Args(("username", new JsonString("alice")), ("keys", Strings(keys)));

    private static JsonObject Alice() => Args(("username", new JsonString("alice")));

    private void UserSshDir()
    {
        Directory.CreateDirectory(SshDir);
        Chown(SshDir, Uid, Gid);
    }

    private void AssertRootUntouched()
    {
        Assert.Equal(Secret, File.ReadAllText(_secretFile));
        Assert.Equal(["authorized_keys"], Directory.GetFileSystemEntries(_rootSsh).Select(Path.GetFileName));
        Assert.Equal("0:0", Stat.Owner(_rootSsh));
        Assert.Equal("0:0", Stat.Owner(_secretFile));
    }

    [Fact]
    public async Task A_symlinked_key_file_is_neither_read_nor_copied_and_the_error_says_why()
    {
        UserSshDir();
        File.CreateSymbolicLink(KeyFile, _secretFile);

        var get = await Fails(Users(), "guest-ssh-get-authorized-keys", Alice());
        var add = await Fails(Keys(), "guest-ssh-add-authorized-keys", Add("algo new"));
        var remove = await Fails(Keys(), "guest-ssh-remove-authorized-keys", Add("algo new"));

        Assert.Equal($"failed to read '{KeyFile}': ~/.ssh/authorized_keys is a symbolic link", get);
        Assert.Equal(get, add);
        Assert.Equal(get, remove);
        Assert.Equal(_secretFile, new FileInfo(KeyFile).LinkTarget);
        AssertRootUntouched();
    }

    [Fact]
    public async Task A_symlinked_ssh_directory_is_refused_and_roots_keys_stay_as_they_are()
    {
        File.CreateSymbolicLink(SshDir, _rootSsh);

        var add = await Fails(Keys(), "guest-ssh-add-authorized-keys", Add("algo attacker"));
        var reset = await Fails(Keys(), "guest-ssh-add-authorized-keys",
            Args(("username", new JsonString("alice")), ("keys", Strings("algo attacker")), ("reset", JsonBool.True)));
        var get = await Fails(Users(), "guest-ssh-get-authorized-keys", Alice());

        Assert.Equal($"failed to create directory '{SshDir}': ~/.ssh is a symbolic link", add);
        Assert.Equal(add, reset);
        Assert.Equal($"failed to read '{KeyFile}': ~/.ssh is a symbolic link", get);
        AssertRootUntouched();
    }

    [Fact]
    public async Task A_fifo_is_refused_at_once_and_the_family_keeps_answering()
    {
        UserSshDir();
        Assert.Equal(0, MkFifo(KeyFile, 0x1B6));
        var users = Users();

        var started = Stopwatch.StartNew();
        var get = await Fails(users, "guest-ssh-get-authorized-keys", Alice());
        var add = await Fails(Keys(), "guest-ssh-add-authorized-keys", Add("algo new"));

        Assert.Equal($"failed to read '{KeyFile}': ~/.ssh/authorized_keys is not a regular file (a FIFO)", get);
        Assert.Equal(get, add);
        // FamilySpec waits Patience for an answer; a read blocked on the FIFO would never give one.
        Assert.True(started.Elapsed < Patience);
        File.Delete(KeyFile);
        await Succeeds(Keys(), "guest-ssh-add-authorized-keys", Add("algo after"));
        AssertJson("""{"keys":["algo after"]}""", await Succeeds(users, "guest-ssh-get-authorized-keys", Alice()));
    }

    [Fact]
    public async Task A_device_node_is_refused_without_being_read()
    {
        UserSshDir();
        // A character device with /dev/zero's numbers: read through, it would never end.
        Assert.Equal(0, MkNod(KeyFile, 0x2000 | 0x1B6, MakeDev(1, 5)));

        var get = await Fails(Users(), "guest-ssh-get-authorized-keys", Alice());
        var add = await Fails(Keys(), "guest-ssh-add-authorized-keys", Add("algo new"));

        Assert.Equal($"failed to read '{KeyFile}': ~/.ssh/authorized_keys is not a regular file (a character device)", get);
        Assert.Equal(get, add);
    }

    [Fact]
    public async Task A_hard_link_to_a_root_owned_file_is_refused()
    {
        UserSshDir();
        Assert.Equal(0, Link(_secretFile, KeyFile));

        var get = await Fails(Users(), "guest-ssh-get-authorized-keys", Alice());
        var add = await Fails(Keys(), "guest-ssh-add-authorized-keys", Add("algo new"));

        Assert.Equal($"failed to read '{KeyFile}': ~/.ssh/authorized_keys has 2 hard links", get);
        Assert.Equal(get, add);
        Assert.Equal(Secret, File.ReadAllText(_secretFile));
        Assert.Equal("0:0", Stat.Owner(_secretFile));
    }

    [Fact]
    public async Task A_root_owned_key_file_is_read_but_never_rewritten_as_the_users()
    {
        UserSshDir();
        File.WriteAllText(KeyFile, "algo admin-key");

        AssertJson("""{"keys":["algo admin-key"]}""", await Succeeds(Users(), "guest-ssh-get-authorized-keys", Alice()));
        Assert.Equal($"failed to read '{KeyFile}': ~/.ssh/authorized_keys is owned by uid 0, not by alice",
            await Fails(Keys(), "guest-ssh-add-authorized-keys", Add("algo new")));
        Assert.Equal("algo admin-key", File.ReadAllText(KeyFile));
    }

    [Fact]
    public async Task A_directory_of_another_user_on_the_way_is_refused()
    {
        Directory.CreateDirectory(SshDir);
        Chown(SshDir, 5151, 5151);

        Assert.Equal($"failed to create directory '{SshDir}': ~/.ssh is owned by uid 5151, not by alice or root",
            await Fails(Keys(), "guest-ssh-add-authorized-keys", Add("algo new")));
        Assert.Empty(Directory.GetFileSystemEntries(SshDir));
    }

    [Fact]
    public async Task A_key_file_over_the_limit_is_refused()
    {
        UserSshDir();
        File.WriteAllText(KeyFile, new string('k', 2048));
        Chown(KeyFile, Uid, Gid);
        var small = Sys.ActorOf(AuthorizedKeysActor.Props(Path.Combine(Guest.Root, "etc"), new SshSettings(1024)));

        Assert.Equal($"failed to read '{KeyFile}': ~/.ssh/authorized_keys is larger than 1024 bytes",
            await Fails(small, "guest-ssh-add-authorized-keys", Add("algo new")));
    }

    [Fact]
    public async Task A_new_ssh_directory_gets_owner_and_mode_and_temp_files_never_stay()
    {
        await Succeeds(Keys(), "guest-ssh-add-authorized-keys", Add("algo one"));

        Assert.Equal($"{Uid}:{Gid}", Stat.Owner(SshDir));
        Assert.Equal((UnixFileMode)0b111_000_000, File.GetUnixFileMode(SshDir));
        Assert.Equal(["authorized_keys"], Directory.GetFileSystemEntries(SshDir).Select(Path.GetFileName));
        AssertJson("""{"keys":["algo one"]}""", await Succeeds(Users(), "guest-ssh-get-authorized-keys", Alice()));
    }

    [Fact]
    public async Task Root_owned_links_above_the_home_are_followed()
    {
        // Like /home -> /var/home: a link in directories only root can write. /tmp is world-writable, and
        // so may be wherever the repository was cloned, so this tree lives under root's own ~/.cache
        // (root's all the way up), as the VM stage's cache does.
        var cache = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "actoragent-tests");
        Directory.CreateDirectory(cache, (UnixFileMode)0b111_101_101);
        var tree = Directory.CreateDirectory(Path.Combine(cache, $"usertree-{Guid.NewGuid():N}"), (UnixFileMode)0b111_101_101).FullName;
        try
        {
            Assert.Equal("0:0", Stat.Owner(cache));
            var varHome = Path.Combine(tree, "var", "home", "bob");
            Directory.CreateDirectory(Path.Combine(varHome, ".ssh"));
            File.WriteAllText(Path.Combine(varHome, ".ssh", "authorized_keys"), "algo bob-key");
            Chown(varHome, Uid, Gid);
            Chown(Path.Combine(varHome, ".ssh"), Uid, Gid);
            Chown(Path.Combine(varHome, ".ssh", "authorized_keys"), Uid, Gid);
            File.CreateSymbolicLink(Path.Combine(tree, "home"), Path.Combine(tree, "var", "home"));
            var bobHome = Path.Combine(tree, "home", "bob");
            File.WriteAllText(Path.Combine(Guest.Root, "etc", "passwd"), $"bob:x:{Uid}:{Gid}:Bob:{bobHome}:/bin/sh\n");

            AssertJson("""{"keys":["algo bob-key"]}""",
                await Succeeds(Users(), "guest-ssh-get-authorized-keys", Args(("username", new JsonString("bob")))));
            await Succeeds(Keys(), "guest-ssh-add-authorized-keys", Args(("username", new JsonString("bob")), ("keys", Strings("algo two"))));
            Assert.Equal("algo bob-key\nalgo two", File.ReadAllText(Path.Combine(varHome, ".ssh", "authorized_keys")));

            // The same link inside the user's own home is theirs, and refused.
            File.CreateSymbolicLink(Path.Combine(varHome, "elsewhere"), Path.Combine(varHome, ".ssh"));
            File.WriteAllText(Path.Combine(Guest.Root, "etc", "passwd"), $"bob:x:{Uid}:{Gid}:Bob:{bobHome}/elsewhere/..:/bin/sh\n");
            Assert.StartsWith("failed to read", await Fails(Users(), "guest-ssh-get-authorized-keys", Args(("username", new JsonString("bob")))));
        }
        finally { Directory.Delete(tree, true); }
    }

    [Fact]
    public async Task Swapping_the_ssh_directory_for_a_link_during_a_thousand_calls_never_reaches_outside_the_users_tree()
    {
        UserSshDir();
        File.WriteAllText(KeyFile, "algo alice-key");
        Chown(KeyFile, Uid, Gid);
        var evil = Path.Combine(_home, ".ssh-evil");
        File.CreateSymbolicLink(evil, _rootSsh);
        var keys = Keys();
        var users = Users();

        using var stop = new CancellationTokenSource();
        var swaps = 0L;
        // The user's side: atomically exchange ~/.ssh and the link to root's directory, as fast as it can.
        var attacker = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
                if (RenameExchange(SshDir, evil) == 0) Interlocked.Increment(ref swaps);
        });
        int refused = 0, done = 0;
        try
        {
            for (var i = 0; i < 1000; i++)
            {
                var (command, args) = (i % 3) switch
                {
                    0 => ("guest-ssh-add-authorized-keys", Add("algo added")),
                    1 => ("guest-ssh-remove-authorized-keys", Add("algo added")),
                    _ => ("guest-ssh-get-authorized-keys", Alice()),
                };
                var answer = await Run(command == "guest-ssh-get-authorized-keys" ? users : keys, command, args);
                if (answer is CommandSucceeded ok)
                {
                    Assert.DoesNotContain("ROOT-SECRET", JsonWriter.ToJson(ok.Value));
                    done++;
                }
                else
                {
                    Assert.DoesNotContain("ROOT-SECRET", ((CommandFailed)answer).Error.Desc);
                    refused++;
                }
            }
        }
        finally
        {
            stop.Cancel();
            await attacker;
        }

        Assert.True(Interlocked.Read(ref swaps) > 0);
        Assert.True(done > 0, "no call got through");
        Assert.True(refused > 0, "no call met the link");
        AssertRootUntouched();
        // Wherever the real directory ended up, it holds only the user's file, still the user's.
        var real = new FileInfo(SshDir).LinkTarget is null ? SshDir : evil;
        Assert.Equal(["authorized_keys"], Directory.GetFileSystemEntries(real).Select(Path.GetFileName));
        Assert.StartsWith("algo alice-key", File.ReadAllText(Path.Combine(real, "authorized_keys")));
        Assert.Equal($"{Uid}:{Gid}", Stat.Owner(Path.Combine(real, "authorized_keys")));
    }

    internal static void Chown(string path, uint uid, uint gid) => Assert.Equal(0, LChown(path, uid, gid));

    private static ulong MakeDev(uint major, uint minor) => ((ulong)major << 8) | minor;

    [LibraryImport("libc", EntryPoint = "lchown", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int LChown(string path, uint owner, uint group);

    [LibraryImport("libc", EntryPoint = "mkfifo", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int MkFifo(string path, uint mode);

    [LibraryImport("libc", EntryPoint = "mknod", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int MkNod(string path, uint mode, ulong dev);

    [LibraryImport("libc", EntryPoint = "link", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Link(string existing, string newPath);

    private static int RenameExchange(string a, string b) => RenameAt2(-100, a, -100, b, 2 /* RENAME_EXCHANGE */);

    [LibraryImport("libc", EntryPoint = "renameat2", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int RenameAt2(int oldDir, string oldPath, int newDir, string newPath, uint flags);
}
