using System.Text.RegularExpressions;
using Agent.Actors;
using Agent.Actors.Commands;
using Agent.Actors.Commands.Freeze;
using Agent.Actors.State;
using Agent.Tests.Channel;
using Agent.Tests.Fakes;
using Agent.Tests.Commands.Freeze;
using Agent.Tests.Commands;
using Agent.Tests.Commands.Power;
using Xunit.Abstractions;

namespace Agent.Tests.Audit;

/// <summary>
/// The audit trail across a real freeze: the whole actor tree, the fsfreeze family over fake mounts and
/// fake ioctls, and a fake syslog socket. Nothing may reach syslog between freeze and thaw.
/// </summary>
public sealed class AuditFreezeSessionSpecs(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit("akka.loglevel = WARNING", output: output)
{
    private readonly FakeGuest _guest = new();
    private readonly FakeFilesystems _filesystems = new();
    private readonly FakeFilesystemStats _stats = new();

    private InMemoryTransport Start(FreezeState freeze)
    {
        _guest.Proc("self/mountinfo", "22 1 254:1 / / rw,relatime - ext4 /dev/vda1 rw\n25 22 254:3 / /data rw,relatime - xfs /dev/vdb rw\n");
        var settings = _guest.Settings($"state-dir = \"{_guest.Root}\"\naudit.socket = \"{Path.Combine(_guest.Root, "dev-log")}\"");
        var families = CommandCatalog.Families
            .Select(f => f.Name != FreezeActor.Family.Name ? f : f with
            {
                Props = ctx => FreezeActor.Props(FreezeContext.From(ctx) with { Filesystems = _filesystems, Stats = _stats }),
            })
            .ToArray();
        var transport = new InMemoryTransport();
        Sys.ActorOf(AgentSupervisor.Props(settings, () => transport, families, freeze), "agent");
        return transport;
    }

    private static string Record(string datagram) => Regex.Replace(datagram, @"^<14>[^\]]*\]: ", "");

    [Fact]
    public async Task Records_of_a_freeze_are_held_until_the_thaw_then_written_in_order()
    {
        using var syslog = new FakeSyslog(Path.Combine(_guest.Root, "dev-log"));
        var freeze = new FreezeState();
        var host = Start(freeze);

        host.Send("{\"execute\":\"guest-fsfreeze-freeze-list\",\"arguments\":{\"mountpoints\":[\"/data\"]}}");
        Assert.Equal("{\"return\": 1}", await host.ReadLineAsync());
        Assert.True(freeze.Frozen);
        host.Send("{\"execute\":\"guest-fsfreeze-status\"}");
        Assert.Equal("{\"return\": \"frozen\"}", await host.ReadLineAsync());
        Assert.True(await syslog.StaysSilentAsync(TimeSpan.FromMilliseconds(500)));

        host.Send("{\"execute\":\"guest-fsfreeze-thaw\"}");
        Assert.Equal("{\"return\": 1}", await host.ReadLineAsync());
        Assert.Equal("command=guest-fsfreeze-freeze-list mountpoints=/data result=ok frozen=1", Record(await syslog.ReceiveAsync()));
        Assert.Equal("command=guest-fsfreeze-thaw result=ok thawed=1", Record(await syslog.ReceiveAsync()));
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            _stats.Dispose();
            _guest.Dispose();
        }
    }
}
