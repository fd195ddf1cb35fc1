using System.Net;
using System.Net.Sockets;
using Agent.Actors.Commands.Network;
using Agent.Actors.Platform;
using Agent.Protocol.Json;
using Xunit.Abstractions;
using Agent.Tests.Fakes;

namespace Agent.Tests.Commands.Network;

public sealed class NetworkActorSpecs(ITestOutputHelper output) : FamilySpec(output), IDisposable
{
    private readonly FakeTree _tree = new();

    private static InterfaceAddress Packet(string name) => new(name, AddressFamily.Unspecified, null, 0);

    private static InterfaceAddress Ip(string name, string address, int prefix)
    {
        var ip = IPAddress.Parse(address);
        return new InterfaceAddress(name, ip.AddressFamily, ip.GetAddressBytes(), prefix);
    }

    private const string NetDev = """
        Inter-|   Receive                                                |  Transmit
         face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
            lo:    3193      29    0    0    0     0          0         0     3193      29    0    0    0     0       0          0
          eth0: 67707262    2616    1    2    0     0          0         0   183342    1758    3    4    0     0       0          0
          ifb0:       0       0    0    0    0     0          0         0        0       0    0    0    0     0       0          0
           wg0:     100       1    0    0    0     0          0         0      200       2    0    0    0     0       0          0

        """;

    [Fact]
    public async Task Interfaces_carry_hardware_addresses_always_and_addresses_and_statistics_only_with_ips()
    {
        _tree.File("proc/net/dev", NetDev);
        var interfaces = new FakeInterfaces(
            Packet("lo"), Packet("eth0"), Packet("ifb0"), Packet("wg0"),
            Ip("lo", "127.0.0.1", 8), Ip("eth0", "192.168.1.10", 24), Ip("eth0:1", "10.0.0.5", 8),
            Ip("wg0", "10.1.0.1", 32), Ip("lo", "::1", 128), Ip("eth0", "fe80::5054:ff:feab:cd01", 64),
            Ip("eth0", "2001:db8::10", 64), Packet("gone0"))
        {
            HardwareAddresses =
            {
                ["lo"] = [0, 0, 0, 0, 0, 0],
                ["eth0"] = [0x52, 0x54, 0x00, 0xAB, 0xcd, 0x01],
                ["ifb0"] = [0x0e, 0x47, 0x08, 0x7e, 0xb1, 0x01],
                ["wg0"] = [0, 0, 0, 0, 0, 0],
            },
        };

        var reply = await Succeeds(Sys.ActorOf(NetworkActor.Props(SettingsFor(_tree), interfaces)), "guest-network-get-interfaces");

        Assert.Equal(Json.Canonical("""
            [{"name":"lo","hardware-address":"00:00:00:00:00:00",
              "ip-addresses":[{"ip-address":"127.0.0.1","ip-address-type":"ipv4","prefix":8},
                              {"ip-address":"::1","ip-address-type":"ipv6","prefix":128}],
              "statistics":{"rx-bytes":3193,"rx-packets":29,"rx-errs":0,"rx-dropped":0,"tx-bytes":3193,"tx-packets":29,"tx-errs":0,"tx-dropped":0}},
             {"name":"eth0","hardware-address":"52:54:00:ab:cd:01",
              "ip-addresses":[{"ip-address":"192.168.1.10","ip-address-type":"ipv4","prefix":24},
                              {"ip-address":"fe80::5054:ff:feab:cd01","ip-address-type":"ipv6","prefix":64},
                              {"ip-address":"2001:db8::10","ip-address-type":"ipv6","prefix":64}],
              "statistics":{"rx-bytes":67707262,"rx-packets":2616,"rx-errs":1,"rx-dropped":2,"tx-bytes":183342,"tx-packets":1758,"tx-errs":3,"tx-dropped":4}},
             {"name":"ifb0","hardware-address":"0e:47:08:7e:b1:01"},
             {"name":"wg0","hardware-address":"00:00:00:00:00:00",
              "ip-addresses":[{"ip-address":"10.1.0.1","ip-address-type":"ipv4","prefix":32}],
              "statistics":{"rx-bytes":100,"rx-packets":1,"rx-errs":0,"rx-dropped":0,"tx-bytes":200,"tx-packets":2,"tx-errs":0,"tx-dropped":0}},
             {"name":"eth0:1","hardware-address":"52:54:00:ab:cd:01",
              "ip-addresses":[{"ip-address":"10.0.0.5","ip-address-type":"ipv4","prefix":8}]},
             {"name":"gone0"}]
            """), Json.Text(reply));
        Assert.Equal(["lo", "eth0", "ifb0", "wg0", "eth0:1", "gone0"], interfaces.HardwareAddressCalls);
    }

    [Fact]
    public void Real_SIOCGIFHWADDR_reports_loopback_as_zeros_and_fails_for_a_missing_device()
    {
        Span<byte> octets = [1, 2, 3, 4, 5, 6];
        Assert.True(LinuxNetworkInterfaces.Instance.TryHardwareAddress("lo", octets));
        Assert.Equal(new byte[6], octets.ToArray());
        Assert.False(LinuxNetworkInterfaces.Instance.TryHardwareAddress("nosuchdev0", octets));
        Assert.False(LinuxNetworkInterfaces.Instance.TryHardwareAddress("a-name-longer-than-ifnamsiz", octets));
    }

    [Fact]
    public void Real_SIOCGIFHWADDR_agrees_with_sysfs_for_every_device()
    {
        var octets = new byte[6];
        foreach (var dir in new DirectoryInfo("/sys/class/net").EnumerateDirectories())
        {
            var text = File.ReadAllText(Path.Join(dir.FullName, "address")).Trim();
            Assert.True(LinuxNetworkInterfaces.Instance.TryHardwareAddress(dir.Name, octets), dir.Name);
            var expected = (text.Length == 0 ? [] : text.Split(':')).Select(o => Convert.ToByte(o, 16)).Concat(new byte[6]).Take(6).ToArray();
            Assert.Equal(expected, octets);
        }
    }

    [Fact]
    public async Task Interfaces_whose_statistics_line_is_malformed_have_none()
    {
        _tree.File("proc/net/dev", """
            Inter-|   Receive                                                |  Transmit
             face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
              eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15
              eth1: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 x 16
              eth2:1	2 3 4 5 6 7 8 9 10 11 12 13 14 15 16
            """);
        var interfaces = new FakeInterfaces(Ip("eth0", "10.0.0.1", 8), Ip("eth1", "10.0.0.2", 8), Ip("eth2", "10.0.0.3", 8));

        var reply = await Succeeds(Sys.ActorOf(NetworkActor.Props(SettingsFor(_tree), interfaces)), "guest-network-get-interfaces");

        Assert.Equal(Json.Canonical("""
            [{"name":"eth0","ip-addresses":[{"ip-address":"10.0.0.1","ip-address-type":"ipv4","prefix":8}]},
             {"name":"eth1","ip-addresses":[{"ip-address":"10.0.0.2","ip-address-type":"ipv4","prefix":8}]},
             {"name":"eth2","ip-addresses":[{"ip-address":"10.0.0.3","ip-address-type":"ipv4","prefix":8}],
              "statistics":{"rx-bytes":1,"rx-packets":2,"rx-errs":3,"rx-dropped":4,"tx-bytes":9,"tx-packets":10,"tx-errs":11,"tx-dropped":12}}]
            """), Json.Text(reply));
    }

    private sealed class FailingInterfaces : INetworkInterfaces
    {
        public IReadOnlyList<InterfaceAddress> List() => throw new PlatformException("Too many open files");
        public bool TryHardwareAddress(string name, Span<byte> address) => false;
    }

    [Fact]
    public async Task Interfaces_report_a_getifaddrs_failure_with_qemus_text()
    {
        var error = await Error(Sys.ActorOf(NetworkActor.Props(SettingsFor(_tree), new FailingInterfaces())), "guest-network-get-interfaces");
        Assert.Equal("getifaddrs failed: Too many open files", error.Desc);
    }

    [Fact]
    public async Task Real_getifaddrs_lists_loopback_with_its_addresses()
    {
        var list = LinuxNetworkInterfaces.Instance.List();
        Assert.Contains(list, a => a.Name == "lo" && a.Family == AddressFamily.InterNetwork &&
                                   new IPAddress(a.Address!).Equals(IPAddress.Loopback) && a.Prefix == 8);
        var reply = (JsonArray)await Succeeds(Sys.ActorOf(NetworkActor.Props(SettingsFor(_tree), LinuxNetworkInterfaces.Instance)), "guest-network-get-interfaces");
        Assert.Contains(reply.Items.Cast<JsonObject>(), i => i["name"] == new JsonString("lo"));
    }

    private const string Ipv4Routes = """
        Iface	Destination	Gateway 	Flags	RefCnt	Use	Metric	Mask		MTU	Window	IRTT
        eth0	00000000	0102000A	0003	0	0	100	00000000	0	0	0
        eth0	0000000A	00000000	0001	2	7	0	00FFFFFF	1500	0	30
        broken line

        """;

    private const string Ipv6Routes = """
        fd000000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000002 00000001     eth0
        00000000000000000000000000000000 00 00000000000000000000000000000000 00 fe800000000000000000000000000001 ffffffff 00000003 0000001a 00200200       lo

        """;

    [Fact]
    public async Task Routes_decode_procfs_hex_for_both_families()
    {
        _tree.File("proc/net/route", Ipv4Routes).File("proc/net/ipv6_route", Ipv6Routes);

        var routes = await Succeeds(Sys.ActorOf(NetworkActor.Props(SettingsFor(_tree), new FakeInterfaces())), "guest-network-get-route");

        Assert.Equal(Json.Canonical("""
            [{"iface":"eth0","destination":"0.0.0.0","metric":100,"gateway":"10.0.2.1","mask":"0.0.0.0","irtt":0,"flags":3,"refcnt":0,"use":0,"window":0,"mtu":0,"version":4},
             {"iface":"eth0","destination":"10.0.0.0","metric":0,"gateway":"0.0.0.0","mask":"255.255.255.0","irtt":30,"flags":1,"refcnt":2,"use":7,"window":0,"mtu":1500,"version":4},
             {"iface":"eth0","destination":"fd00::","metric":256,"flags":1,"refcnt":1,"use":2,"desprefixlen":"64","source":"::","srcprefixlen":"0","nexthop":"::","version":6},
             {"iface":"lo","destination":"::","metric":-1,"flags":2097664,"refcnt":3,"use":26,"desprefixlen":"0","source":"::","srcprefixlen":"0","nexthop":"fe80::1","version":6}]
            """), Json.Text(routes));
    }

    [Fact]
    public async Task Routes_fail_with_the_open_error_when_a_file_is_missing()
    {
        _tree.File("proc/net/route", Ipv4Routes);
        var error = await Error(Sys.ActorOf(NetworkActor.Props(SettingsFor(_tree), new FakeInterfaces())), "guest-network-get-route");
        Assert.Equal($"open(\"{_tree.Path("proc/net/ipv6_route")}\"): No such file or directory", error.Desc);
    }

    public new void Dispose()
    {
        _tree.Dispose();
        base.Dispose();
    }
}
