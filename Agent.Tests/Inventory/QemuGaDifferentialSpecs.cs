using System.Text.Json.Nodes;
using Agent.Actors.Commands.Hardware;
using Agent.Actors.Commands.Identity;
using Agent.Actors.Commands.Network;
using Agent.Actors.Commands.Storage;
using Agent.Actors.Commands.Users;
using Agent.Actors.Platform;
using Agent.Actors.Settings;
using Akka.Actor;
using Akka.Configuration;
using Xunit.Abstractions;
using AgentJson = Agent.Protocol.Json;

namespace Agent.Tests.Inventory;

/// <summary>
/// Our family actors on this machine's real /proc, /sys and /etc against Debian's qemu-ga 7.2
/// asked the same read-only questions. Values are compared where the machine's state is stable;
/// the 7.2-vs-HEAD differences of spec §9 are normalised away (total-bytes-privileged, the
/// major:minor de-duplication of the mount list, get-load and network-get-route being HEAD-only).
/// </summary>
public sealed class QemuGaDifferentialSpecs(ITestOutputHelper output, QemuGaOracle qemu)
    : InventoryTestKit(output), IClassFixture<QemuGaOracle>
{
    private static readonly AgentSettings Real = AgentSettings.Create(ConfigurationFactory.Empty);

    private async Task<JsonNode?> Ours(Props family, string command, AgentJson.JsonObject? args = null) =>
        Json.Node(await Succeeds(Sys.ActorOf(family), command, args));

    private async Task<JsonNode?> Theirs(string command, string arguments = "{}")
    {
        var reply = await qemu.Execute(command, arguments);
        Assert.True(reply.ContainsKey("return"), $"qemu-ga {command}: {reply.ToJsonString()}");
        return reply["return"];
    }

    /// <summary>Compact JSON with object members sorted: qemu-ga prints members in hash order.</summary>
    private static string Sorted(JsonNode? node) => node switch
    {
        JsonObject o => "{" + string.Join(",", o.OrderBy(m => m.Key, StringComparer.Ordinal)
            .Select(m => System.Text.Json.JsonSerializer.Serialize(m.Key) + ":" + Sorted(m.Value))) + "}",
        JsonArray a => "[" + string.Join(",", a.Select(Sorted)) + "]",
        null => "null",
        _ => node.ToJsonString(),
    };

    private static ulong Number(JsonNode? node) => ulong.Parse(node!.ToJsonString(), System.Globalization.CultureInfo.InvariantCulture);

    private static string[] Keys(JsonNode? node) => node!.AsObject().Select(m => m.Key).Order(StringComparer.Ordinal).ToArray();

    private static Props Identity => IdentityActor.Props(Real, LinuxKernel.Instance, SystemClock.Instance);

    [Fact]
    public async Task Osinfo_host_name_and_timezone_are_identical()
    {
        Assert.Equal(Sorted(await Theirs("guest-get-osinfo")), Sorted(await Ours(Identity, "guest-get-osinfo")));
        Assert.Equal(Sorted(await Theirs("guest-get-host-name")), Sorted(await Ours(Identity, "guest-get-host-name")));
        Assert.Equal(Sorted(await Theirs("guest-get-timezone")), Sorted(await Ours(Identity, "guest-get-timezone")));
    }

    [Fact]
    public async Task Time_is_the_same_clock_in_nanoseconds()
    {
        var theirs = (await Theirs("guest-get-time"))!.GetValue<long>();
        var ours = (await Ours(Identity, "guest-get-time"))!.GetValue<long>();
        Assert.InRange(Math.Abs(ours - theirs), 0, 10_000_000_000L);
        Assert.Equal(0, theirs % 1000);
        Assert.Equal(0, ours % 1000);
    }

    [Fact]
    public async Task Users_are_identical() =>
        Assert.Equal(Sorted(await Theirs("guest-get-users")), Sorted(await Ours(UsersActor.Props(Real), "guest-get-users")));

    [Fact]
    public async Task Authorized_keys_answers_are_identical_for_a_missing_user_and_for_root()
    {
        var users = Sys.ActorOf(UsersActor.Props(Real));
        foreach (var user in new[] { "no-such-user-6", "root" })
        {
            var theirs = await qemu.Execute("guest-ssh-get-authorized-keys", $$"""{"username":"{{user}}"}""");
            Execute(users, user);
            var ours = await ExpectMsgAsync<object>(Patience);
            if (theirs["error"] is { } error)
            {
                var failed = Assert.IsType<Agent.Actors.Commands.CommandFailed>(ours);
                Assert.Equal(error["class"]!.GetValue<string>(), failed.Error.Class);
                Assert.Equal(error["desc"]!.GetValue<string>(), failed.Error.Desc);
            }
            else
            {
                var ok = Assert.IsType<Agent.Actors.Commands.CommandSucceeded>(ours);
                Assert.Equal(Sorted(theirs["return"]), Sorted(Json.Node(ok.Value)));
            }
        }
    }

    private void Execute(IActorRef family, string user) =>
        family.Tell(new Agent.Actors.Commands.Execute(99, "guest-ssh-get-authorized-keys",
            AgentJson.JsonObject.Of(("username", new AgentJson.JsonString(user)))), TestActor);

    [Fact]
    public async Task Interfaces_have_the_same_names_hardware_and_ip_addresses_and_statistics_members()
    {
        var theirs = (await Theirs("guest-network-get-interfaces"))!.AsArray();
        var ours = (await Ours(NetworkActor.Props(Real, LinuxNetworkInterfaces.Instance), "guest-network-get-interfaces"))!.AsArray();

        Assert.Equal(theirs.Select(i => i!["name"]!.GetValue<string>()), ours.Select(i => i!["name"]!.GetValue<string>()));
        foreach (var (t, o) in theirs.Zip(ours))
        {
            Assert.Equal(Keys(t), Keys(o));
            Assert.Equal(Sorted(t!["hardware-address"]), Sorted(o!["hardware-address"]));
            Assert.Equal(Sorted(t["ip-addresses"]), Sorted(o["ip-addresses"]));
            if (t["statistics"] is { } stats) Assert.Equal(Keys(stats), Keys(o["statistics"]));
        }
    }

    [Fact]
    public async Task Fsinfo_lists_the_same_filesystems_and_disks()
    {
        var theirs = (await Theirs("guest-get-fsinfo"))!.AsArray();
        var ours = (await Ours(FilesystemsActor.Props(Real, LinuxFilesystemStats.Instance), "guest-get-fsinfo"))!.AsArray();

        // 7.2 lists every mount of a device; HEAD keeps the first in mount order, which is the last in this reversed list.
        var seen = new HashSet<string>();
        var theirsHead = theirs.Reverse().Where(f => seen.Add(f!["name"]!.GetValue<string>())).Reverse().ToList();
        Assert.Equal(theirsHead.Count, ours.Count);
        foreach (var (t, o) in theirsHead.Zip(ours))
        {
            // total-bytes-privileged is HEAD's (9.1+).
            Assert.Equal(Keys(t).Append("total-bytes-privileged").Order(StringComparer.Ordinal), Keys(o));
            foreach (var member in new[] { "name", "mountpoint", "type", "disk" })
                Assert.Equal(Sorted(t![member]), Sorted(o![member]));
            Assert.Equal(Number(t!["total-bytes"]), Number(o!["total-bytes"]));
            Assert.InRange(Number(o["used-bytes"]), 0UL, Number(o["total-bytes-privileged"]));
        }
    }

    [Fact]
    public async Task Disks_are_identical() =>
        Assert.Equal(Sorted(await Theirs("guest-get-disks")), Sorted(await Ours(DisksActor.Props(Real), "guest-get-disks")));

    [Fact]
    public async Task Diskstats_have_the_same_devices_and_members()
    {
        var theirs = (await Theirs("guest-get-diskstats"))!.AsArray();
        var ours = (await Ours(DisksActor.Props(Real), "guest-get-diskstats"))!.AsArray();
        static string Id(JsonNode? d) => $"{d!["name"]} {d["major"]}:{d["minor"]} [{string.Join(",", Keys(d["stats"]))}]";
        Assert.Equal(theirs.Select(Id), ours.Select(Id));
    }

    [Fact]
    public async Task Cpustats_have_the_same_cpus_and_members()
    {
        var theirs = (await Theirs("guest-get-cpustats"))!.AsArray();
        var ours = (await Ours(HardwareActor.Props(Real, LinuxKernel.Instance), "guest-get-cpustats"))!.AsArray();
        static string Id(JsonNode? c) => $"{c!["type"]} {c["cpu"]} [{string.Join(",", Keys(c))}]";
        Assert.Equal(theirs.Select(Id), ours.Select(Id));
        // Counters only grow: ours were read after qemu-ga's.
        foreach (var (t, o) in theirs.Zip(ours))
            Assert.True(Number(o!["idle"]) >= Number(t!["idle"]));
    }

    [Fact]
    public async Task Vcpus_and_memory_blocks_are_identical()
    {
        var hardware = HardwareActor.Props(Real, LinuxKernel.Instance);
        Assert.Equal(Sorted(await Theirs("guest-get-vcpus")), Sorted(await Ours(hardware, "guest-get-vcpus")));
        Assert.Equal(Sorted(await Theirs("guest-get-memory-blocks")), Sorted(await Ours(hardware, "guest-get-memory-blocks")));
        Assert.Equal(Sorted(await Theirs("guest-get-memory-block-info")), Sorted(await Ours(hardware, "guest-get-memory-block-info")));
    }

    [Fact]
    public async Task Load_and_routes_are_HEAD_only_and_ours_match_procfs()
    {
        foreach (var command in new[] { "guest-get-load", "guest-network-get-route" })
        {
            var reply = await qemu.Execute(command);
            Assert.Equal("CommandNotFound", reply["error"]!["class"]!.GetValue<string>());
        }

        var load = (await Ours(HardwareActor.Props(Real, LinuxKernel.Instance), "guest-get-load"))!;
        Assert.Equal(["load15m", "load1m", "load5m"], Keys(load));
        Assert.InRange(load["load1m"]!.GetValue<double>(), 0, 1000);

        var routes = (await Ours(NetworkActor.Props(Real, LinuxNetworkInterfaces.Instance), "guest-network-get-route"))!.AsArray();
        var v4 = File.ReadAllLines("/proc/net/route").Skip(1).Count(l => l.Trim().Length > 0);
        var v6 = File.ReadAllLines("/proc/net/ipv6_route").Count(l => l.Trim().Length > 0);
        Assert.Equal(v4, routes.Count(r => Number(r!["version"]) == 4));
        Assert.Equal(v6, routes.Count(r => Number(r!["version"]) == 6));
    }

    [Fact]
    public async Task Fsfreeze_status_is_left_to_its_own_family_and_qemu_reports_thawed() =>
        Assert.Equal("thawed", (await Theirs("guest-fsfreeze-status"))!.GetValue<string>());
}
