using System.Text.RegularExpressions;
using Agent.Actors;
using Agent.Actors.Commands;
using Agent.Tests.Channel;
using Agent.Tests.Fakes;
using Agent.Tests.Commands.Power;
using Xunit.Abstractions;

namespace Agent.Tests.Audit;

/// <summary>
/// The audit trail through the whole actor tree: a host session over an in-memory transport, a fake
/// guest (helpers are scripts in a temp folder) and a fake syslog socket named in configuration.
/// </summary>
public sealed class AuditTrailSessionSpecs(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit("akka.loglevel = WARNING", output: output)
{
    private readonly FakeGuest _guest = new();

    private string SocketPath => Path.Combine(_guest.Root, "dev-log");

    private InMemoryTransport Start(string hocon = "")
    {
        var transport = new InMemoryTransport();
        var settings = _guest.Settings($"state-dir = \"{_guest.Root}\"\naudit.socket = \"{SocketPath}\"\n{hocon}");
        Sys.ActorOf(AgentSupervisor.Props(settings, () => transport, CommandCatalog.Families), "agent");
        return transport;
    }

    /// <summary>The record after the syslog header, once the header is checked.</summary>
    private static string Record(string datagram)
    {
        var match = Regex.Match(datagram, $@"^<14>[A-Z][a-z]{{2}} [ 1-3][0-9] [0-2][0-9]:[0-5][0-9]:[0-6][0-9] actoragent\[{Environment.ProcessId}\]: (.*)$",
            RegexOptions.Singleline);
        Assert.True(match.Success, $"not a syslog datagram: {datagram}");
        return match.Groups[1].Value;
    }

    [Fact]
    public async Task Guest_exec_and_set_user_password_are_recorded_and_read_only_commands_are_not()
    {
        using var syslog = new FakeSyslog(SocketPath);
        _guest.Helper("chpasswd", "cat > /dev/null");
        var host = Start();

        host.Send("{\"execute\":\"guest-ping\"}");
        Assert.Equal("{\"return\": {}}", await host.ReadLineAsync());
        host.Send("{\"execute\":\"guest-exec\",\"arguments\":{\"path\":\"/bin/echo\",\"arg\":[\"hello world\"]}}");
        var reply = await host.ReadLineAsync();
        var pid = Regex.Match(reply, "^\\{\"return\": \\{\"pid\": ([0-9]+)\\}\\}$").Groups[1].Value;
        Assert.NotEqual("", pid);
        Assert.Equal($"command=guest-exec argv=\"/bin/echo 'hello world'\" result=ok pid={pid}", Record(await syslog.ReceiveAsync()));

        host.Send("{\"execute\":\"guest-set-user-password\",\"arguments\":{\"username\":\"alice\",\"password\":\"czNjcmV0LXB3\",\"crypted\":false}}");
        Assert.Equal("{\"return\": {}}", await host.ReadLineAsync());
        var password = await syslog.ReceiveAsync();
        Assert.Equal("command=guest-set-user-password user=alice crypted=false result=ok", Record(password));
        Assert.DoesNotContain("czNjcmV0LXB3", password);
        Assert.DoesNotContain("s3cret-pw", password);
        Assert.Equal(["chpasswd "], _guest.Calls());
    }

    [Fact]
    public async Task A_policy_refusal_is_answered_naming_the_rule_and_recorded_and_the_command_never_runs()
    {
        using var syslog = new FakeSyslog(SocketPath);
        _guest.Helper("chpasswd", "cat > /dev/null");
        var host = Start("policy.password.users = [\"svc-*\"]");

        host.Send("{\"execute\":\"guest-set-user-password\",\"arguments\":{\"username\":\"root\",\"password\":\"czNjcmV0LXB3\",\"crypted\":false}}");
        Assert.Equal("{\"error\": {\"class\": \"GenericError\", \"desc\": \"guest-set-user-password: user 'root' is not allowed by agent.policy.password.users\"}}",
            await host.ReadLineAsync());
        Assert.Equal("command=guest-set-user-password user=root crypted=false result=error " +
                     "error=\"guest-set-user-password: user 'root' is not allowed by agent.policy.password.users\"",
            Record(await syslog.ReceiveAsync()));
        Assert.Empty(_guest.Calls());
    }

    [Fact]
    public async Task A_failed_command_is_recorded_with_its_error()
    {
        using var syslog = new FakeSyslog(SocketPath);
        var host = Start();
        var missing = Path.Combine(_guest.Root, "missing", "file");
        host.Send($"{{\"execute\":\"guest-file-open\",\"arguments\":{{\"path\":\"{missing}\",\"mode\":\"w\"}}}}");
        var reply = await host.ReadLineAsync();
        Assert.Contains("GenericError", reply);
        Assert.Equal($"command=guest-file-open path={missing} mode=w result=error " +
                     $"error=\"failed to open file '{missing}' (mode: 'w'): No such file or directory\"",
            Record(await syslog.ReceiveAsync()));
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing) _guest.Dispose();
    }
}
