using System.Text;
using System.Text.Json.Nodes;
using Agent.Tests.Protocol;

namespace Agent.Tests.EndToEnd;

/// <summary>
/// The built Agent.Host and Debian's qemu-ga 7.2, both on unix sockets on this machine, asked the
/// same read-only inventory questions. Values are compared where the machine's state is stable;
/// where they are, the reply lines are byte-identical (member order included). The 7.2-vs-HEAD
/// differences between 7.2 and HEAD are normalised away: total-bytes-privileged, the major:minor
/// de-duplication of the mount list, and get-load / network-get-route being HEAD-only.
/// </summary>
public sealed class QemuGaDifferentialSpecs(QemuGaOracle qemu, OurAgentFixture ours)
    : IClassFixture<QemuGaOracle>, IClassFixture<OurAgentFixture>
{
    /// <summary>The reply to one request; the fixture's lines after it belong to its 0xFF + sync sentinel.</summary>
    private static async Task<string> Line(SocketAgentFixture agent, string request)
    {
        var lines = await agent.Replies(Encoding.UTF8.GetBytes(request));
        Assert.Equal(3, lines.Count);
        return Encoding.UTF8.GetString(lines[0]);
    }

    private static string Execute(string command, string arguments = "{}") =>
        $$"""{"execute":"{{command}}","arguments":{{arguments}}}""";

    private async Task<(JsonNode? Theirs, JsonNode? Ours)> Both(string command, string arguments = "{}")
    {
        var theirs = JsonNode.Parse(await Line(qemu, Execute(command, arguments)))!.AsObject();
        var mine = JsonNode.Parse(await Line(ours, Execute(command, arguments)))!.AsObject();
        Assert.True(theirs.ContainsKey("return"), $"qemu-ga {command}: {theirs.ToJsonString()}");
        Assert.True(mine.ContainsKey("return"), $"ours {command}: {mine.ToJsonString()}");
        return (theirs["return"], mine["return"]);
    }

    /// <summary>Compact JSON with object members sorted, for comparing values regardless of member order.</summary>
    private static string Sorted(JsonNode? node) => node switch
    {
        JsonObject o => "{" + string.Join(",", o.OrderBy(m => m.Key, StringComparer.Ordinal)
            .Select(m => System.Text.Json.JsonSerializer.Serialize(m.Key) + ":" + Sorted(m.Value))) + "}",
        JsonArray a => "[" + string.Join(",", a.Select(Sorted)) + "]",
        null => "null",
        _ => node.ToJsonString(),
    };

    private static string[] Keys(JsonNode? node) => node!.AsObject().Select(m => m.Key).Order(StringComparer.Ordinal).ToArray();

    private static ulong Number(JsonNode? node) => ulong.Parse(node!.ToJsonString(), System.Globalization.CultureInfo.InvariantCulture);

    [Theory]
    [InlineData("guest-get-osinfo")]
    [InlineData("guest-get-host-name")]
    [InlineData("guest-get-timezone")]
    [InlineData("guest-get-users")]
    [InlineData("guest-get-vcpus")]
    [InlineData("guest-get-memory-blocks")]
    [InlineData("guest-get-memory-block-info")]
    [InlineData("guest-get-disks")]
    public async Task Stable_answers_are_byte_identical(string command) =>
        Assert.Equal(await Line(qemu, Execute(command)), await Line(ours, Execute(command)));

    [Theory]
    [InlineData("no-such-user-6")]
    [InlineData("root")]
    public async Task Authorized_keys_answers_are_byte_identical(string user)
    {
        var request = Execute("guest-ssh-get-authorized-keys", $$"""{"username":"{{user}}"}""");
        Assert.Equal(await Line(qemu, request), await Line(ours, request));
    }

    [Fact]
    public async Task Time_is_the_same_clock_in_nanoseconds_with_microsecond_granularity()
    {
        var (theirs, mine) = await Both("guest-get-time");
        Assert.InRange(Math.Abs((long)Number(mine) - (long)Number(theirs)), 0, 10_000_000_000L);
        Assert.Equal(0UL, Number(theirs) % 1000);
        Assert.Equal(0UL, Number(mine) % 1000);
    }

    [Fact]
    public async Task Interfaces_have_the_same_names_hardware_and_ip_addresses_and_statistics_members()
    {
        var (theirs, mine) = await Both("guest-network-get-interfaces");
        Assert.Equal(theirs!.AsArray().Select(i => i!["name"]!.GetValue<string>()), mine!.AsArray().Select(i => i!["name"]!.GetValue<string>()));
        foreach (var (t, o) in theirs.AsArray().Zip(mine.AsArray()))
        {
            Assert.Equal(t!.AsObject().Select(m => m.Key), o!.AsObject().Select(m => m.Key));
            Assert.Equal(Sorted(t["hardware-address"]), Sorted(o["hardware-address"]));
            Assert.Equal(t["ip-addresses"]?.ToJsonString(), o["ip-addresses"]?.ToJsonString());
            if (t["statistics"] is { } stats) Assert.Equal(stats.AsObject().Select(m => m.Key), o["statistics"]!.AsObject().Select(m => m.Key));
        }
    }

    [Fact]
    public async Task Fsinfo_lists_the_same_filesystems_and_disks()
    {
        var (theirs, mine) = await Both("guest-get-fsinfo");
        // 7.2 lists every mount of a device; HEAD keeps the first in mount order, the last in this reversed list.
        var seen = new HashSet<string>();
        var theirsHead = theirs!.AsArray().Reverse().Where(f => seen.Add(f!["name"]!.GetValue<string>())).Reverse().ToList();
        Assert.Equal(theirsHead.Count, mine!.AsArray().Count);
        foreach (var (t, o) in theirsHead.Zip(mine.AsArray()))
        {
            // total-bytes-privileged is HEAD's (9.1+).
            Assert.Equal(Keys(t).Append("total-bytes-privileged").Order(StringComparer.Ordinal), Keys(o));
            foreach (var member in new[] { "name", "mountpoint", "type", "disk" })
                Assert.Equal(t![member]!.ToJsonString(), o![member]!.ToJsonString());
            Assert.Equal(Number(t!["total-bytes"]), Number(o!["total-bytes"]));
            Assert.InRange(Number(o["used-bytes"]), 0UL, Number(o["total-bytes-privileged"]));
        }
    }

    [Fact]
    public async Task Diskstats_have_the_same_devices_and_members()
    {
        var (theirs, mine) = await Both("guest-get-diskstats");
        static string Id(JsonNode? d) => $"{d!["name"]} {d["major"]}:{d["minor"]} [{string.Join(",", d["stats"]!.AsObject().Select(m => m.Key))}]";
        Assert.Equal(theirs!.AsArray().Select(Id), mine!.AsArray().Select(Id));
    }

    [Fact]
    public async Task Cpustats_have_the_same_cpus_and_members_and_counters_only_grow()
    {
        var (theirs, mine) = await Both("guest-get-cpustats");
        static string Id(JsonNode? c) => $"{c!["type"]} {c["cpu"]} [{string.Join(",", c.AsObject().Select(m => m.Key))}]";
        Assert.Equal(theirs!.AsArray().Select(Id), mine!.AsArray().Select(Id));
        foreach (var (t, o) in theirs.AsArray().Zip(mine.AsArray()))
            Assert.True(Number(o!["idle"]) >= Number(t!["idle"]));
    }

    [Fact]
    public async Task Load_and_routes_are_HEAD_only_and_ours_match_procfs()
    {
        foreach (var command in new[] { "guest-get-load", "guest-network-get-route" })
        {
            var reply = JsonNode.Parse(await Line(qemu, Execute(command)))!;
            Assert.Equal("CommandNotFound", reply["error"]!["class"]!.GetValue<string>());
        }

        var load = JsonNode.Parse(await Line(ours, Execute("guest-get-load")))!["return"];
        Assert.Equal(["load15m", "load1m", "load5m"], Keys(load));
        Assert.InRange(load!["load1m"]!.GetValue<double>(), 0, 1000);

        var routes = JsonNode.Parse(await Line(ours, Execute("guest-network-get-route")))!["return"]!.AsArray();
        var v4 = File.ReadAllLines("/proc/net/route").Skip(1).Count(l => l.Trim().Length > 0);
        var v6 = File.ReadAllLines("/proc/net/ipv6_route").Count(l => l.Trim().Length > 0);
        Assert.Equal(v4, routes.Count(r => Number(r!["version"]) == 4));
        Assert.Equal(v6, routes.Count(r => Number(r!["version"]) == 6));
    }
}
