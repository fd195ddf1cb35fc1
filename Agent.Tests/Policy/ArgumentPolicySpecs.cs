using Agent.Actors.Policy;
using Agent.Actors.Settings;
using Agent.Protocol.Json;
using Akka.Configuration;

namespace Agent.Tests.Policy;

/// <summary>agent.policy rules, checked as the dispatcher checks them, over a temp tree.</summary>
public sealed class ArgumentPolicySpecs : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("policy-").FullName;

    private static ArgumentPolicy Policy(string hocon = "") =>
        new(AgentSettings.Create(ConfigurationFactory.ParseString($"agent.policy {{ {hocon} }}")).Policy);

    private static JsonArray Strings(params string[] items) => new(items.Select(i => (JsonValue)new JsonString(i)).ToArray());

    private static string? Exec(ArgumentPolicy policy, string path, string[]? env = null, string? cwd = null) =>
        policy.Check("guest-exec", JsonObject.Of(("path", new JsonString(path)), ("env", env is null ? null : Strings(env)),
            ("__org.actoragent_working-directory", cwd is null ? null : new JsonString(cwd))))?.Desc;

    private static string? Open(ArgumentPolicy policy, string path, string? mode = null) =>
        policy.Check("guest-file-open", JsonObject.Of(("path", new JsonString(path)), ("mode", mode is null ? null : new JsonString(mode))))?.Desc;

    /// <summary>The policy reads arguments that passed the schema, so each command gets all it requires.</summary>
    private static string? User(ArgumentPolicy policy, string command, string user) =>
        policy.Check(command, command == "guest-set-user-password"
            ? JsonObject.Of(("username", new JsonString(user)), ("password", new JsonString("")), ("crypted", JsonBool.False))
            : JsonObject.Of(("username", new JsonString(user)), ("keys", Strings())))?.Desc;

    private string Tree(string relative)
    {
        var path = Path.Combine(_dir, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, "x");
        return path;
    }

    [Fact]
    public void The_defaults_allow_everything_qemu_ga_allows()
    {
        var policy = Policy();
        Assert.Null(Exec(policy, "no-such-program-anywhere", ["LD_PRELOAD=/x.so"]));
        Assert.Null(Exec(policy, "/bin/sh\u0000.allowed"));
        Assert.Null(Open(policy, "/etc/shadow"));
        Assert.Null(Open(policy, "/etc/shadow", "w"));
        Assert.Null(Open(policy, "x\u0000.log", "a+"));
        Assert.Null(User(policy, "guest-set-user-password", "root"));
        Assert.Null(User(policy, "guest-ssh-add-authorized-keys", "root"));
        Assert.Null(User(policy, "guest-ssh-remove-authorized-keys", "root"));
    }

    [Fact]
    public void Executables_match_the_absolute_path_with_globs()
    {
        var policy = Policy("exec.executables = [\"/usr/bin/*\", \"/opt/tools/**\"]");
        Assert.Null(Exec(policy, "/usr/bin/env"));
        Assert.Null(Exec(policy, "/opt/tools/a/b/run"));
        Assert.Equal("guest-exec: '/usr/bin/x/y' is not allowed by agent.policy.exec.executables", Exec(policy, "/usr/bin/x/y"));
        Assert.Equal("guest-exec: '/bin/sh' is not allowed by agent.policy.exec.executables", Exec(policy, "/usr/bin/../../bin/sh"));
        Assert.Equal("guest-exec: '/tmp/env' is not allowed by agent.policy.exec.executables", Exec(policy, "../env", cwd: "/tmp/sub"));
        Assert.Equal("guest-exec: '/bin/sh\\u0000.x' contains a NUL character, which agent.policy.exec.executables cannot allow",
            Exec(policy, "/bin/sh\u0000.x"));
    }

    [Fact]
    public void A_bare_name_is_looked_up_on_PATH_as_guest_exec_does_then_matched()
    {
        var tool = Tree("bin/tool");
        File.SetUnixFileMode(tool, (UnixFileMode)0b111_101_101);
        var policy = Policy($"exec.executables = [\"{_dir}/bin/*\"]");
        Assert.Null(Exec(policy, "tool", [$"PATH={_dir}/bin"]));
        Assert.Equal("guest-exec: 'tool' is not found on PATH, so agent.policy.exec.executables cannot allow it",
            Exec(policy, "tool", ["PATH=/nonexistent"]));
        Assert.Equal("guest-exec: '/usr/bin/env' is not allowed by agent.policy.exec.executables", Exec(policy, "env", ["PATH=/usr/bin"]));
    }

    [Fact]
    public void Environment_names_must_match_the_env_rule()
    {
        var policy = Policy("exec.env = [LANG, \"LC_*\"]");
        Assert.Null(Exec(policy, "/bin/true", ["LANG=C.UTF-8", "LC_ALL=C"]));
        Assert.Null(Exec(policy, "/bin/true"));
        Assert.Equal("guest-exec: environment variable 'LD_PRELOAD' is not allowed by agent.policy.exec.env",
            Exec(policy, "/bin/true", ["LANG=C", "LD_PRELOAD=/tmp/x.so"]));
    }

    [Fact]
    public void File_open_checks_the_resolved_path_against_the_prefixes_of_its_direction()
    {
        var pub = Path.Combine(_dir, "pub");
        var readable = Tree("pub/a.txt");
        var secret = Tree("secret/key");
        Directory.CreateDirectory(Path.Combine(pub, "out"));
        File.CreateSymbolicLink(Path.Combine(pub, "link"), secret);
        Directory.CreateSymbolicLink(Path.Combine(pub, "dirlink"), Path.Combine(_dir, "secret"));
        var policy = Policy($"file.read = [\"{pub}\"], file.write = [\"{pub}/out/\"]");

        Assert.Null(Open(policy, readable));
        Assert.Null(Open(policy, readable, "rb"));
        Assert.Null(Open(policy, $"{pub}/out/new-file", "w"));
        Assert.Null(Open(policy, $"{pub}/out/../out/new-file", "a"));
        Assert.Equal($"guest-file-open: reading '{secret}' is not allowed by agent.policy.file.read", Open(policy, secret));
        Assert.Equal($"guest-file-open: reading '{pub}/link' (resolved to '{secret}') is not allowed by agent.policy.file.read",
            Open(policy, $"{pub}/link"));
        Assert.Equal($"guest-file-open: reading '{pub}/dirlink/key' (resolved to '{secret}') is not allowed by agent.policy.file.read",
            Open(policy, $"{pub}/dirlink/key"));
        Assert.Equal($"guest-file-open: reading '{pub}/../secret/key' (resolved to '{secret}') is not allowed by agent.policy.file.read",
            Open(policy, $"{pub}/../secret/key"));
        Assert.Equal($"guest-file-open: reading '{_dir}/pubx' is not allowed by agent.policy.file.read", Open(policy, $"{_dir}/pubx"));
        Assert.Equal($"guest-file-open: writing '{readable}' is not allowed by agent.policy.file.write", Open(policy, readable, "w"));
        Assert.Equal($"guest-file-open: writing '{readable}' is not allowed by agent.policy.file.write", Open(policy, readable, "r+"));
        Assert.Null(Open(policy, $"{pub}/out/f", "a+"));
        Assert.Equal($"guest-file-open: writing '{readable}' is not allowed by agent.policy.file.write", Open(policy, readable, "a+"));
        Assert.Equal($"guest-file-open: '{readable}\\u0000.log' contains a NUL character, which agent.policy.file.read cannot allow",
            Open(policy, readable + "\u0000.log"));
    }

    [Fact]
    public void A_prefix_that_is_itself_a_root_owned_link_keeps_working()
    {
        var real = Path.Combine(_dir, "var", "home");
        var file = Tree("var/home/u/notes");
        Directory.CreateSymbolicLink(Path.Combine(_dir, "home"), real);
        var policy = Policy($"file.read = [\"{_dir}/home\"]");
        Assert.Null(Open(policy, file));
        Assert.Null(Open(policy, $"{_dir}/home/u/notes"));
    }

    [Fact]
    public void A_link_loop_is_refused_not_followed_forever()
    {
        File.CreateSymbolicLink(Path.Combine(_dir, "a"), Path.Combine(_dir, "b"));
        File.CreateSymbolicLink(Path.Combine(_dir, "b"), Path.Combine(_dir, "a"));
        var policy = Policy($"file.read = [\"{_dir}\"]");
        Assert.Equal($"guest-file-open: '{_dir}/a' cannot be resolved (too many levels of symbolic links in '{_dir}/a')",
            Open(policy, $"{_dir}/a"));
    }

    [Theory]
    [InlineData("guest-set-user-password", "password.users")]
    [InlineData("guest-ssh-add-authorized-keys", "ssh.users")]
    [InlineData("guest-ssh-remove-authorized-keys", "ssh.users")]
    public void Users_must_match_their_rule(string command, string key)
    {
        var policy = Policy($"{key} = [alice, \"svc-*\"]");
        Assert.Null(User(policy, command, "alice"));
        Assert.Null(User(policy, command, "svc-web"));
        Assert.Equal($"{command}: user 'root' is not allowed by agent.policy.{key}", User(policy, command, "root"));
        Assert.Equal($"{command}: user 'alice\\u0000x' is not allowed by agent.policy.{key}", User(policy, command, "alice\u0000x"));
    }

    [Fact]
    public void The_password_rule_does_not_govern_ssh_keys_and_the_other_way_round()
    {
        var policy = Policy("password.users = [alice]");
        Assert.Null(User(policy, "guest-ssh-add-authorized-keys", "root"));
        Assert.NotNull(User(policy, "guest-set-user-password", "root"));
    }

    [Theory]
    [InlineData("file.read = [relative/dir]", "agent.policy.file.read: 'relative/dir' is not an absolute path")]
    [InlineData("exec.executables = [\"bin/*\"]", "agent.policy.exec.executables: 'bin/*' is not an absolute path or glob")]
    public void Relative_paths_in_rules_are_configuration_errors(string hocon, string error) =>
        Assert.Equal(error, Assert.Throws<ConfigurationException>(() => Policy(hocon)).Message);

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }
}
