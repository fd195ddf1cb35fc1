using Agent.Actors;
using Agent.Actors.Commands;
using Agent.Actors.Settings;
using Agent.Tests.Channel;
using Akka.Configuration;
using Xunit.Abstractions;

namespace Agent.Tests.Policy;

/// <summary>hocon/profiles/locked-down.conf as an operator file over reference.conf, through the whole actor tree.</summary>
public sealed class LockedDownProfileSpecs(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit("akka.loglevel = WARNING", output: output)
{
    private readonly string _stateDir = Directory.CreateTempSubdirectory("locked-down-").FullName;

    public static string ProfilePath()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "hocon", "profiles", "locked-down.conf");
            if (File.Exists(candidate)) return candidate;
        }
        throw new FileNotFoundException("hocon/profiles/locked-down.conf not found above the test binaries");
    }

    private AgentSettings Settings(string overrides = "") =>
        AgentSettings.Create(ConfigurationFactory.ParseString(overrides)
            .WithFallback(ConfigurationFactory.ParseString(File.ReadAllText(ProfilePath())))
            .WithFallback(ConfigurationFactory.ParseString($"agent.state-dir = \"{_stateDir}\"\nagent.audit.socket = \"{_stateDir}/no-log\"")));

    private InMemoryTransport Start(AgentSettings settings)
    {
        var transport = new InMemoryTransport();
        Sys.ActorOf(AgentSupervisor.Props(settings, () => transport, CommandCatalog.Families), "agent");
        return transport;
    }

    [Fact]
    public void The_profile_blocks_exec_file_password_and_ssh_and_its_policy_allows_nothing()
    {
        var settings = Settings();
        Assert.Equal(
        [
            "guest-exec", "guest-exec-status", "__org.actoragent_guest-exec-kill", "__org.actoragent_guest-exec-ack",
            "guest-file-open", "guest-file-close", "guest-file-read", "guest-file-write", "guest-file-seek", "guest-file-flush",
            "guest-set-user-password",
            "guest-ssh-get-authorized-keys", "guest-ssh-add-authorized-keys", "guest-ssh-remove-authorized-keys",
        ], settings.Rpc.Block);
        var p = settings.Policy;
        Assert.All(new[] { p.Executables, p.Environment, p.ReadPrefixes, p.WritePrefixes, p.PasswordUsers, p.SshUsers }, Assert.Empty);
    }

    [Theory]
    [InlineData("{\"execute\":\"guest-exec\",\"arguments\":{\"path\":\"/bin/true\"}}", "guest-exec")]
    [InlineData("{\"execute\":\"guest-file-open\",\"arguments\":{\"path\":\"/etc/hostname\"}}", "guest-file-open")]
    [InlineData("{\"execute\":\"guest-set-user-password\",\"arguments\":{\"username\":\"root\",\"password\":\"eA==\",\"crypted\":false}}", "guest-set-user-password")]
    [InlineData("{\"execute\":\"guest-ssh-add-authorized-keys\",\"arguments\":{\"username\":\"root\",\"keys\":[\"ssh-ed25519 AAAA\"]}}", "guest-ssh-add-authorized-keys")]
    public async Task Blocked_commands_answer_as_qemu_ga_answers_block_rpcs(string request, string command)
    {
        var host = Start(Settings());
        host.Send(request);
        Assert.Equal($"{{\"error\": {{\"class\": \"CommandNotFound\", \"desc\": \"Command {command} has been disabled: the command is not allowed\"}}}}",
            await host.ReadLineAsync());
        host.Send("{\"execute\":\"guest-ping\"}");
        Assert.Equal("{\"return\": {}}", await host.ReadLineAsync());
    }

    [Fact]
    public async Task Re_enabling_a_command_without_opening_its_policy_still_refuses_it_naming_the_rule()
    {
        var host = Start(Settings("agent.rpc.block = []"));
        host.Send("{\"execute\":\"guest-exec\",\"arguments\":{\"path\":\"/bin/true\"}}");
        Assert.Equal("{\"error\": {\"class\": \"GenericError\", \"desc\": \"guest-exec: '/bin/true' is not allowed by agent.policy.exec.executables\"}}",
            await host.ReadLineAsync());
        host.Send("{\"execute\":\"guest-file-open\",\"arguments\":{\"path\":\"/etc/hostname\"}}");
        Assert.Equal("{\"error\": {\"class\": \"GenericError\", \"desc\": \"guest-file-open: reading '/etc/hostname' is not allowed by agent.policy.file.read\"}}",
            await host.ReadLineAsync());
        host.Send("{\"execute\":\"guest-set-user-password\",\"arguments\":{\"username\":\"root\",\"password\":\"eA==\",\"crypted\":false}}");
        Assert.Equal("{\"error\": {\"class\": \"GenericError\", \"desc\": \"guest-set-user-password: user 'root' is not allowed by agent.policy.password.users\"}}",
            await host.ReadLineAsync());
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
            try { Directory.Delete(_stateDir, true); } catch (IOException) { }
    }
}
