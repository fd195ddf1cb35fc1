using Agent.Actors.Commands.Users;
using Agent.Actors.Platform;
using Agent.Protocol.Json;
using Xunit.Abstractions;
using Agent.Tests.Fakes;

namespace Agent.Tests.Commands.Users;

public sealed class UsersActorSpecs(ITestOutputHelper output) : FamilySpec(output), IDisposable
{
    private const short LoginProcess = 6;
    private const short DeadProcess = 8;
    private const short BootTime = 2;
    private readonly FakeTree _tree = new();

    private Akka.Actor.IActorRef Users() => Sys.ActorOf(UsersActor.Props(SettingsFor(_tree)));

    [Fact]
    public async Task Users_lists_each_logged_in_user_once_with_the_earliest_login_as_a_double()
    {
        var longName = new string('x', 32);
        _tree.Utmp("run/utmp",
            (BootTime, "reboot", 1_699_999_000, 0),
            (Utmp.UserProcess, "alice", 1_700_000_100, 500_000),
            (Utmp.UserProcess, "bob", 1_700_000_200, 0),
            (LoginProcess, "LOGIN", 1_700_000_250, 0),
            (Utmp.UserProcess, "alice", 1_700_000_000, 250_000),
            (DeadProcess, "carol", 1_700_000_300, 0),
            (Utmp.UserProcess, longName, 1_700_000_400, 1),
            (Utmp.UserProcess, "bob", 1_700_000_900, 0));

        var users = await Succeeds(Users(), "guest-get-users");

        Assert.Equal(Json.Canonical($$"""
            [{"user":"alice","login-time":1700000000.25},
             {"user":"bob","login-time":1700000200},
             {"user":"{{longName}}","login-time":1700000400.000001}]
            """), Json.Text(users));
        var alice = (JsonObject)((JsonArray)users).Items[0];
        Assert.IsType<JsonDouble>(alice["login-time"]);
    }

    [Fact]
    public async Task Users_is_an_empty_list_without_a_utmp_file() =>
        Assert.Equal(JsonArray.Empty, await Succeeds(Users(), "guest-get-users"));

    private void WritePasswd(string aliceHome) => _tree.File("etc/passwd", $"""
        root:x:0:0:root:/root:/bin/bash
        alice:x:1000:1000:Alice,,,:{aliceHome}:/bin/bash
        alice:x:1001:1001:second alice is never used:/nonexistent:/bin/sh

        """);

    [Fact]
    public async Task Authorized_keys_are_stripped_without_comments_or_blank_lines_in_reverse_file_order()
    {
        WritePasswd(_tree.Path("home/alice"));
        _tree.File("home/alice/.ssh/authorized_keys",
            "ssh-ed25519 AAAA1 first@host\n\n# a comment\n   ssh-rsa AAAA2 second@host  \n\t#indented comment\nssh-ed25519 AAAA3 third");

        var keys = await Succeeds(Users(), "guest-ssh-get-authorized-keys", JsonObject.Of(("username", new JsonString("alice"))));

        Assert.Equal("""{"keys":["ssh-ed25519 AAAA3 third","ssh-rsa AAAA2 second@host","ssh-ed25519 AAAA1 first@host"]}""", Json.Text(keys));
    }

    [Fact]
    public async Task Authorized_keys_errors_use_qemus_texts()
    {
        WritePasswd(_tree.Path("home/alice"));
        var users = Users();

        var unknown = await Error(users, "guest-ssh-get-authorized-keys", JsonObject.Of(("username", new JsonString("mallory"))));
        Assert.Equal("failed to lookup user 'mallory': Success", unknown.Desc);

        var path = _tree.Path("home/alice/.ssh/authorized_keys");
        var missing = await Error(users, "guest-ssh-get-authorized-keys", JsonObject.Of(("username", new JsonString("alice"))));
        Assert.Equal($"failed to read '{path}': Failed to open file \u201c{path}\u201d: No such file or directory", missing.Desc);
    }

    [Fact]
    public async Task Authorized_keys_of_a_user_with_an_empty_file_is_an_empty_list()
    {
        WritePasswd(_tree.Path("home/alice"));
        _tree.File("home/alice/.ssh/authorized_keys", "");
        var keys = await Succeeds(Users(), "guest-ssh-get-authorized-keys", JsonObject.Of(("username", new JsonString("alice"))));
        Assert.Equal("""{"keys":[]}""", Json.Text(keys));
    }

    public new void Dispose()
    {
        _tree.Dispose();
        base.Dispose();
    }
}
