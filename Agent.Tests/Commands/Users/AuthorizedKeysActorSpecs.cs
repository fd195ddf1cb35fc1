using Agent.Actors.Settings;
using Agent.Actors.Commands.Users;
using Agent.Protocol.Json;
using Akka.Actor;
using Xunit.Abstractions;
using Agent.Tests.Platform;

namespace Agent.Tests.Commands.Users;

/// <summary>A fake user (uid/gid 4242, home in the temp folder) in a fake &lt;etc&gt;/passwd; the tests run as root, so chown works.</summary>
public sealed class AuthorizedKeysActorSpecs : GuestControlSpecBase
{
    private const uint Uid = 4242, Gid = 4343;
    private readonly string _home;

    public AuthorizedKeysActorSpecs(ITestOutputHelper output) : base(output)
    {
        _home = Path.Combine(Guest.Root, "home", "alice");
        Directory.CreateDirectory(_home);
        Directory.CreateDirectory(Path.Combine(Guest.Root, "etc"));
        File.WriteAllText(Path.Combine(Guest.Root, "etc", "passwd"),
            $"root:x:0:0:root:/root:/bin/sh\nalice:x:{Uid}:{Gid}:Alice:{_home}:/bin/bash\n");
    }

    private string SshDir => Path.Combine(_home, ".ssh");
    private string KeyFile => Path.Combine(SshDir, "authorized_keys");

    private IActorRef Family() => Sys.ActorOf(AuthorizedKeysActor.Props(Path.Combine(Guest.Root, "etc"), new SshSettings(1024 * 1024)));

    private static JsonObject Keys(string user, string[] keys, bool? reset = null) => Args(
        ("username", new JsonString(user)), ("keys", Strings(keys)), ("reset", reset is { } r ? JsonBool.Of(r) : null));

    [Fact]
    public async Task Adding_creates_ssh_dir_and_key_file_owned_by_the_user_with_private_modes_and_no_trailing_newline()
    {
        await Succeeds(Family(), "guest-ssh-add-authorized-keys", Keys("alice", ["ssh-ed25519 AAAA1 a@h", "ssh-rsa BBBB2 b@h"]));

        Assert.Equal("ssh-ed25519 AAAA1 a@h\nssh-rsa BBBB2 b@h", File.ReadAllText(KeyFile));
        Assert.Equal((UnixFileMode)0b111_000_000, File.GetUnixFileMode(SshDir));
        Assert.Equal((UnixFileMode)0b110_000_000, File.GetUnixFileMode(KeyFile));
        Assert.Equal($"{Uid}:{Gid}", Stat.Owner(SshDir));
        Assert.Equal($"{Uid}:{Gid}", Stat.Owner(KeyFile));
        Assert.Equal(["authorized_keys"], Directory.GetFiles(SshDir).Select(Path.GetFileName));
    }

    [Fact]
    public async Task Adding_a_key_already_present_changes_nothing_but_the_new_ones()
    {
        var family = Family();
        await Succeeds(family, "guest-ssh-add-authorized-keys", Keys("alice", ["algo key2 comments"]));
        await Succeeds(family, "guest-ssh-add-authorized-keys", Keys("alice", ["algo key1 comments", "algo key2 comments"]));
        await Succeeds(family, "guest-ssh-add-authorized-keys", Keys("alice", ["algo key1 comments"]));

        Assert.Equal("algo key2 comments\nalgo key1 comments", File.ReadAllText(KeyFile));
    }

    [Fact]
    public async Task Existing_lines_are_kept_verbatim_including_comments_and_a_trailing_newline()
    {
        Directory.CreateDirectory(SshDir);
        File.WriteAllText(KeyFile, "# managed by hand\nalgo old\n");
        UserTreeSpecs.Chown(KeyFile, Uid, Gid); // a root-owned file in the user's tree is never rewritten as theirs
        await Succeeds(Family(), "guest-ssh-add-authorized-keys", Keys("alice", ["algo new"]));

        // As qemu-ga: split on '\n', so the empty piece after the old trailing newline stays a line.
        Assert.Equal("# managed by hand\nalgo old\n\nalgo new", File.ReadAllText(KeyFile));
    }

    [Fact]
    public async Task Reset_replaces_the_whole_file_and_an_empty_reset_empties_it()
    {
        var family = Family();
        await Succeeds(family, "guest-ssh-add-authorized-keys", Keys("alice", ["algo key1", "algo key2"]));
        await Succeeds(family, "guest-ssh-add-authorized-keys", Keys("alice", ["algo key2"], reset: true));
        Assert.Equal("algo key2", File.ReadAllText(KeyFile));

        await Succeeds(family, "guest-ssh-add-authorized-keys", Keys("alice", [], reset: true));
        Assert.Equal("", File.ReadAllText(KeyFile));
    }

    [Fact]
    public async Task The_file_is_replaced_atomically_never_rewritten_in_place()
    {
        var family = Family();
        await Succeeds(family, "guest-ssh-add-authorized-keys", Keys("alice", ["algo key1"]));
        // A reader holding the old file keeps seeing the old content: the new one is a different inode.
        using var reader = new FileStream(KeyFile, FileMode.Open, FileAccess.Read);

        await Succeeds(family, "guest-ssh-add-authorized-keys", Keys("alice", ["algo key2"]));

        Assert.Equal("algo key1", new StreamReader(reader).ReadToEnd());
        Assert.Equal("algo key1\nalgo key2", File.ReadAllText(KeyFile));
        Assert.Equal($"{Uid}:{Gid}", Stat.Owner(KeyFile));
        Assert.Equal((UnixFileMode)0b110_000_000, File.GetUnixFileMode(KeyFile));
    }

    [Fact]
    public async Task Removing_drops_exact_matches_only_and_keeps_everything_else()
    {
        Directory.CreateDirectory(SshDir);
        File.WriteAllText(KeyFile, "algo key1 comments\nalgo key1 comments\n# a commented line\nalgo some-key another\n");
        UserTreeSpecs.Chown(KeyFile, Uid, Gid);
        var family = Family();

        await Succeeds(family, "guest-ssh-remove-authorized-keys", Keys("alice", ["algo key2 comments"]));
        Assert.Equal("algo key1 comments\nalgo key1 comments\n# a commented line\nalgo some-key another\n", File.ReadAllText(KeyFile));

        await Succeeds(family, "guest-ssh-remove-authorized-keys", Keys("alice", ["algo key1 comments", "algo key2 comments"]));
        Assert.Equal("# a commented line\nalgo some-key another\n", File.ReadAllText(KeyFile));
        Assert.Equal($"{Uid}:{Gid}", Stat.Owner(KeyFile));
    }

    [Fact]
    public async Task Removing_from_a_user_without_a_key_file_is_a_no_op()
    {
        await Succeeds(Family(), "guest-ssh-remove-authorized-keys", Keys("alice", ["algo key1"]));
        Assert.False(Directory.Exists(SshDir));
    }

    [Theory]
    [InlineData("")]
    [InlineData("# comment")]
    [InlineData("algo key\nalgo other")]
    public async Task Invalid_keys_are_refused_before_anything_is_touched(string key)
    {
        var family = Family();
        Assert.Equal($"invalid OpenSSH public key: '{key}'", await Fails(family, "guest-ssh-add-authorized-keys", Keys("alice", ["algo ok", key])));
        Assert.Equal($"invalid OpenSSH public key: '{key}'", await Fails(family, "guest-ssh-remove-authorized-keys", Keys("alice", [key])));
        Assert.False(Directory.Exists(SshDir));
    }

    [Fact]
    public async Task An_unknown_user_fails_with_qemus_lookup_text()
    {
        Assert.Equal("failed to lookup user 'mallory': Success",
            await Fails(Family(), "guest-ssh-add-authorized-keys", Keys("mallory", ["algo key"])));
    }
}

/// <summary>Ownership as stat(1) prints it.</summary>
internal static class Stat
{
    public static string Owner(string path)
    {
        using var stat = global::System.Diagnostics.Process.Start(new global::System.Diagnostics.ProcessStartInfo("stat", ["-c", "%u:%g", path])
        {
            RedirectStandardOutput = true,
        })!;
        var owner = stat.StandardOutput.ReadToEnd().Trim();
        stat.WaitForExit();
        return owner;
    }
}
