using Agent.Actors.Commands.Users;
using Agent.Protocol.Json;
using Akka.Actor;
using Xunit.Abstractions;

namespace Agent.Tests.Commands.Users;

public sealed class PasswordActorSpecs(ITestOutputHelper output) : GuestControlSpecBase(output)
{
    private string StdinLog => Path.Combine(Guest.Root, "chpasswd.stdin");

    private IActorRef Family()
    {
        var settings = Settings();
        return Sys.ActorOf(PasswordActor.Props(settings.Helpers, settings.Processes, Reaper(settings)));
    }

    /// <summary>A fake chpasswd that logs its argv and keeps its stdin.</summary>
    private void Chpasswd(string then = "exit 0") => Guest.Helper("chpasswd", $"cat > '{StdinLog}'\n{then}");

    private static JsonObject Password(string user, string base64, bool crypted = false) =>
        Args(("username", new JsonString(user)), ("password", new JsonString(base64)), ("crypted", JsonBool.Of(crypted)));

    private static string Utf8Base64(string text) => Convert.ToBase64String(global::System.Text.Encoding.UTF8.GetBytes(text));

    [Fact]
    public async Task The_helper_gets_user_colon_password_on_stdin_and_no_arguments()
    {
        Chpasswd();
        await Succeeds(Family(), "guest-set-user-password", Password("alice", Utf8Base64("s3cret pässword")));

        Assert.Equal(["chpasswd "], Guest.Calls());
        Assert.Equal("alice:s3cret pässword\n", File.ReadAllText(StdinLog));
    }

    [Fact]
    public async Task A_crypted_password_adds_dash_e()
    {
        Chpasswd();
        await Succeeds(Family(), "guest-set-user-password", Password("root", Utf8Base64("$6$salt$hash"), crypted: true));

        Assert.Equal(["chpasswd -e"], Guest.Calls());
        Assert.Equal("root:$6$salt$hash\n", File.ReadAllText(StdinLog));
    }

    [Fact]
    public async Task Lenient_base64_without_padding_is_accepted()
    {
        Chpasswd();
        await Succeeds(Family(), "guest-set-user-password", Password("bob", "YWJj\nZGVmZw"));
        // glib skips the newline and drops the incomplete last group.
        Assert.Equal("bob:abcdef\n", File.ReadAllText(StdinLog));
    }

    [Theory]
    [InlineData("alice", "bad\nline", "forbidden characters in raw password")]
    [InlineData("al:ice", "pw", "forbidden characters in username")]
    [InlineData("al\nice", "pw", "forbidden characters in username")]
    [InlineData("alice", "abc\0def", "forbidden characters in raw password: NUL")]
    public async Task Forbidden_characters_are_refused_before_the_helper_runs(string user, string password, string error)
    {
        Chpasswd();
        Assert.Equal(error, await Fails(Family(), "guest-set-user-password", Password(user, Utf8Base64(password))));
        Assert.Empty(Guest.Calls());
    }

    [Fact]
    public async Task A_NUL_in_the_username_reaches_chpasswd_as_C0_80_never_as_a_shorter_name()
    {
        Chpasswd();
        await Succeeds(Family(), "guest-set-user-password", Password("root\0x", Utf8Base64("pw")));
        Assert.Equal([.. "root"u8, 0xC0, 0x80, .. "x:pw\n"u8], File.ReadAllBytes(StdinLog));
    }

    [Fact]
    public async Task Invalid_base64_is_refused()
    {
        Chpasswd();
        Assert.Equal("Base64 data contains invalid characters", await Fails(Family(), "guest-set-user-password", Password("alice", "a*b")));
        Assert.Empty(Guest.Calls());
    }

    [Fact]
    public async Task A_failing_chpasswd_reports_its_output()
    {
        Chpasswd("echo 'chpasswd: (user nobody1) pam_chauthtok() failed'; exit 1");
        Assert.Equal("child process has failed to set user password: chpasswd: (user nobody1) pam_chauthtok() failed\n",
            await Fails(Family(), "guest-set-user-password", Password("nobody1", Utf8Base64("x"))));
    }

    [Fact]
    public async Task A_chpasswd_failing_silently_reports_its_exit_status()
    {
        Chpasswd("exit 4");
        Assert.Equal("child process has failed to set user password: exit status 4",
            await Fails(Family(), "guest-set-user-password", Password("alice", Utf8Base64("x"))));
    }
}
