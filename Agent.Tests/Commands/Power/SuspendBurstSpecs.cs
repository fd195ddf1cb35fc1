using System.Diagnostics;
using Agent.Actors.Commands;
using Agent.Actors.Commands.Power;
using Agent.Actors.Processes;
using Agent.Protocol.Json;
using Agent.Tests.Processes;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using Xunit.Abstractions;
using Agent.Tests.Fakes;

namespace Agent.Tests.Commands.Power;

/// <summary>
/// Issue 3's accounting test: 1,000 suspend attempts against helpers that exit, crash and hang,
/// in real time (hung probes are really killed), then /proc must show no zombie and no extra fd.
/// </summary>
[Collection(ProcessAccountingCollection.Name)]
public sealed class SuspendBurstSpecs : TestKit
{
    private readonly ITestOutputHelper _output;

    public SuspendBurstSpecs(ITestOutputHelper output) : base("akka.loglevel = WARNING", output: output) => _output = output;

    [Fact]
    public async Task A_thousand_suspend_attempts_with_exiting_crashing_and_hanging_helpers_leave_nothing_behind()
    {
        using var guest = new FakeGuest();
        // disk:   systemd says yes, hibernate crashes; pm says yes, pm-hibernate fails; sysfs writes disk -> success
        // ram:    systemctl status hangs (killed at the probe timeout); pm-suspend exits 0 -> success
        // hybrid: systemctl status crashes; pm-is-supported says no; sysfs cannot -> not supported
        guest.Helper("systemctl", """
            case "$1 $2" in
              "status systemd-hibernate") exit 3 ;;
              "status systemd-suspend") sleep 100 & sleep 100 ;;
              "status systemd-hybrid-sleep") kill -9 $$ ;;
              *) kill -SEGV $$ ;;
            esac
            """);
        guest.Helper("pm-is-supported", "[ \"$1\" = --suspend-hybrid ] && exit 1; exit 0");
        guest.Helper("pm-hibernate", "exit 1");
        guest.Helper("pm-suspend", "exit 0");
        // 1s, not less: under a loaded CI a hanging helper must have started (and recorded its call) before it is killed.
        var settings = guest.Settings("suspend { probe = qemu, probe-timeout = 1s }");
        var reaper = Sys.ActorOf(ReaperActor.Props(settings.Processes));
        var power = Sys.ActorOf(PowerActor.Family.Props(new CommandContext(settings, reaper)));
        string[] commands = ["guest-suspend-disk", "guest-suspend-ram", "guest-suspend-hybrid"];

        power.Tell(new Execute(0, "guest-suspend-disk", JsonObject.Empty));
        await ExpectMsgAsync<CommandSucceeded>(TimeSpan.FromSeconds(30));
        var fdsBefore = ProcFs.OpenFdCount();
        var openBefore = ProcFs.OpenFdTargets();
        var zombiesBefore = ProcFs.ZombieChildren();
        var callsBefore = guest.Calls().Count;

        const int total = 1000, window = 30;
        var clock = Stopwatch.StartNew();
        int sent = 0, answered = 0, succeeded = 0, failed = 0;
        while (sent < window) power.Tell(new Execute(++sent, commands[sent % 3], JsonObject.Empty));
        while (answered < total)
        {
            switch (await ReceiveOneAsync(TimeSpan.FromSeconds(60)))
            {
                case CommandSucceeded s:
                    succeeded++;
                    Assert.NotEqual(2, s.Seq % 3); // seq % 3: 0 disk, 1 ram (both succeed), 2 hybrid
                    break;
                case CommandFailed f:
                    failed++;
                    Assert.Equal(2, f.Seq % 3);
                    Assert.Equal("the requested suspend mode is not supported by the guest", f.Error.Desc);
                    break;
                case var other: throw new Xunit.Sdk.XunitException($"unexpected {other}");
            }
            answered++;
            if (sent < total) power.Tell(new Execute(++sent, commands[sent % 3], JsonObject.Empty));
        }
        clock.Stop();

        var children = guest.Calls().Count - callsBefore;
        Assert.Equal(333, failed);
        Assert.Equal(667, succeeded);
        // disk runs 4 helpers, ram 3 (plus the hung probe's sleeps), hybrid 2.
        Assert.Equal(333 * 4 + 334 * 3 + 333 * 2, children);
        await AwaitAssertAsync(() => Assert.Empty(ProcFs.NewZombieChildren(zombiesBefore)), TimeSpan.FromSeconds(10));
        await AwaitAssertAsync(() => Assert.Empty(ProcFs.NewPipes(openBefore)), TimeSpan.FromSeconds(10));
        _output.WriteLine($"{total} suspend attempts, {children} helper children (+{334 * 2} sleeps of hung probes killed) " +
                          $"in {clock.Elapsed.TotalSeconds:F1} s; zombies {ProcFs.NewZombieChildren(zombiesBefore).Count}, fds {fdsBefore} -> {ProcFs.OpenFdCount()}, new pipes {ProcFs.NewPipes(openBefore).Count}");
    }
}
