using Agent.Actors.Audit;
using Agent.Actors.Settings;
using Agent.Actors.State;
using Agent.Protocol.Json;
using Akka.Actor;
using Akka.Configuration;
using Xunit.Abstractions;

namespace Agent.Tests.Audit;

/// <summary>The audit actor against a fake syslog socket in a temp folder.</summary>
public sealed class AuditActorSpecs(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit("akka.loglevel = WARNING", output: output)
{
    private static readonly DateTime T0 = new(2026, 12, 5, 8, 40, 49, DateTimeKind.Utc);

    private readonly string _dir = Directory.CreateTempSubdirectory("audit-").FullName;
    private readonly StringWriter _stderr = new();
    private readonly FreezeState _freeze = new();
    private DateTime _now = T0;

    private string SocketPath => Path.Combine(_dir, "log");

    private IActorRef Start(string hocon = "") =>
        Sys.ActorOf(AuditActor.Props(Settings(hocon), _freeze, () => _now, TextWriter.Synchronized(_stderr)));

    private AuditSettings Settings(string hocon) =>
        AgentSettings.Create(ConfigurationFactory.ParseString($"agent.audit {{ socket = \"{SocketPath}\"\n{hocon} }}")).Audit;

    private static AuditActor.CommandCompleted Exec() =>
        new("guest-exec", AuditRecordSpecs.ExecArguments, JsonObject.Of(("pid", new JsonInt(4242))), null);

    private static AuditActor.CommandCompleted Password() =>
        new("guest-set-user-password", AuditRecordSpecs.PasswordArguments, JsonObject.Empty, null);

    private async Task<AuditActor.Counters> Counters(IActorRef audit) =>
        await audit.Ask<AuditActor.Counters>(AuditActor.GetCounters.Instance, TimeSpan.FromSeconds(20));

    [Fact]
    public async Task Exec_and_password_records_reach_syslog_exactly_as_glibc_would_frame_them()
    {
        using var syslog = new FakeSyslog(SocketPath);
        var audit = Start();
        audit.Tell(Exec());
        audit.Tell(Password());

        Assert.Equal(FakeSyslog.Header(T0) + AuditRecordSpecs.ExecRecord, await syslog.ReceiveAsync());
        var password = await syslog.ReceiveAsync();
        Assert.Equal(FakeSyslog.Header(T0) + AuditRecordSpecs.PasswordRecord, password);
        Assert.DoesNotContain("czNjcmV0LXB3", password);
        Assert.Equal(new AuditActor.Counters(2, 0, 0, 0), await Counters(audit));
        Assert.Equal("", _stderr.ToString());
    }

    [Fact]
    public async Task Facility_and_tag_come_from_configuration()
    {
        using var syslog = new FakeSyslog(SocketPath);
        var audit = Start("facility = authpriv, tag = guest-agent");
        audit.Tell(Password());
        // authpriv (10) * 8 + info (6)
        Assert.Equal(FakeSyslog.Header(T0, "guest-agent", 86) + AuditRecordSpecs.PasswordRecord, await syslog.ReceiveAsync());
    }

    [Fact]
    public async Task A_missing_socket_sends_records_to_stderr_counts_them_and_reports_the_loss_once_syslog_is_back()
    {
        var audit = Start();
        audit.Tell(Exec());
        Assert.Equal(new AuditActor.Counters(0, 1, 0, 0), await Counters(audit));
        await AwaitConditionAsync(() => Task.FromResult(_stderr.ToString().Length > 0), TimeSpan.FromSeconds(20));
        Assert.Equal("1796460049.000000: audit: " + AuditRecordSpecs.ExecRecord + Environment.NewLine, _stderr.ToString());

        using var syslog = new FakeSyslog(SocketPath);
        audit.Tell(Password());
        Assert.Equal(FakeSyslog.Header(T0) + "event=audit-loss missed=1", await syslog.ReceiveAsync());
        Assert.Equal(FakeSyslog.Header(T0) + AuditRecordSpecs.PasswordRecord, await syslog.ReceiveAsync());
        Assert.Equal(new AuditActor.Counters(1, 1, 0, 0), await Counters(audit));
    }

    [Fact]
    public async Task A_full_socket_never_blocks_the_actor_every_record_is_delivered_or_counted()
    {
        // Nobody reads this socket: once its queue is full a blocking send would hang forever.
        using var syslog = new FakeSyslog(SocketPath, receiveBuffer: 4096);
        var audit = Start("fallback-queue = 10");
        const int records = 3000;
        for (var i = 0; i < records; i++) audit.Tell(Exec());

        var counters = await Counters(audit);
        Assert.Equal(records, counters.Delivered + counters.FellBack + counters.Dropped);
        Assert.True(counters.Delivered > 0, $"{counters}");
        Assert.True(counters.FellBack + counters.Dropped > 0, $"{counters}");
    }

    [Fact]
    public async Task While_frozen_records_are_held_and_written_at_thaw_with_their_own_time()
    {
        using var syslog = new FakeSyslog(SocketPath);
        var audit = Start();
        _freeze.Set(true);
        audit.Tell(Exec());
        Assert.Equal(new AuditActor.Counters(0, 0, 0, 1), await Counters(audit));
        Assert.True(await syslog.StaysSilentAsync(TimeSpan.FromMilliseconds(300)));

        _now = T0.AddMinutes(5);
        _freeze.Set(false);
        Assert.Equal(FakeSyslog.Header(T0) + AuditRecordSpecs.ExecRecord, await syslog.ReceiveAsync());
        audit.Tell(Password());
        Assert.Equal(FakeSyslog.Header(T0.AddMinutes(5)) + AuditRecordSpecs.PasswordRecord, await syslog.ReceiveAsync());
        Assert.Equal(new AuditActor.Counters(2, 0, 0, 0), await Counters(audit));
        Assert.Equal("", _stderr.ToString());
    }

    [Fact]
    public async Task An_agent_that_starts_frozen_holds_records_until_the_first_thaw_and_never_falls_back_to_stderr()
    {
        _freeze.Set(true);
        var audit = Start("max-held = 2");
        audit.Tell(Exec());
        audit.Tell(Password());
        audit.Tell(Password());
        Assert.Equal(new AuditActor.Counters(0, 0, 1, 2), await Counters(audit));
        Assert.Equal("", _stderr.ToString());

        using var syslog = new FakeSyslog(SocketPath);
        _freeze.Set(false);
        Assert.Equal(FakeSyslog.Header(T0) + "event=audit-loss missed=1", await syslog.ReceiveAsync());
        Assert.Equal(FakeSyslog.Header(T0) + AuditRecordSpecs.ExecRecord, await syslog.ReceiveAsync());
        Assert.Equal(FakeSyslog.Header(T0) + AuditRecordSpecs.PasswordRecord, await syslog.ReceiveAsync());
    }

    [Fact]
    public void An_unknown_facility_is_a_configuration_error() =>
        Assert.Throws<ConfigurationException>(() => Settings("facility = kernel"));

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
            try { Directory.Delete(_dir, true); } catch (IOException) { }
    }
}
