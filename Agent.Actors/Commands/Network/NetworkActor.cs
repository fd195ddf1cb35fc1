using System.Globalization;
using System.Net.Sockets;
using Agent.Actors.Platform;
using Agent.Actors.Settings;

namespace Agent.Actors.Commands.Network;

/// <summary>guest-network-get-interfaces and guest-network-get-route.</summary>
public sealed class NetworkActor(AgentSettings settings, INetworkInterfaces interfaces) : CommandActor
{
    public static readonly CommandFamily Family = CommandFamily.Of<GuestNetworkGetInterfacesArguments, GuestNetworkGetRouteArguments>("network", ctx => Props(ctx.Settings, LinuxNetworkInterfaces.Instance));

    public static Props Props(AgentSettings settings, INetworkInterfaces interfaces) =>
        ActorConstructor.Props(() => new NetworkActor(settings, interfaces));

    private static readonly string[] StatisticsMembers =
        ["rx-bytes", "rx-packets", "rx-errs", "rx-dropped", "tx-bytes", "tx-packets", "tx-errs", "tx-dropped"];

    protected override void PreStart()
    {
        Handle<GuestNetworkGetInterfacesArguments>(_ => Interfaces());
        Handle<GuestNetworkGetRouteArguments>(_ => Routes());
    }

    private sealed class InterfaceEntry(string name, string? hardwareAddress)
    {
        public string Name { get; } = name;
        public string? HardwareAddress { get; } = hardwareAddress;
        public List<JsonValue> Addresses { get; } = [];
        public JsonObject? Statistics { get; set; }
    }

    /// <summary>
    /// One entry per getifaddrs name in first-seen order. Addresses and statistics appear only for
    /// names with an IPv4/IPv6 address, statistics only when /proc/net/dev has the name.
    /// </summary>
    private JsonValue Interfaces()
    {
        IReadOnlyList<InterfaceAddress> list;
        try { list = interfaces.List(); }
        catch (PlatformException ex) { throw new CommandException($"getifaddrs failed: {ex.Message}"); }

        var entries = new List<InterfaceEntry>();
        string? netDev = null;
        foreach (var ifa in list)
        {
            var entry = Find(entries, ifa.Name);
            if (entry is null) entries.Add(entry = new InterfaceEntry(ifa.Name, HardwareAddress(ifa.Name)));
            if (ifa.Address is null || ifa.Family is not (AddressFamily.InterNetwork or AddressFamily.InterNetworkV6)) continue;
            entry.Addresses.Add(JsonObject.Of(
                ("ip-address", new JsonString(InetAddress.Format(ifa.Address))),
                ("ip-address-type", ifa.Family == AddressFamily.InterNetwork ? Ipv4Type : Ipv6Type),
                ("prefix", new JsonInt(ifa.Prefix))));
            entry.Statistics ??= Statistics(netDev ??= GuestFiles.ReadOrNull(GuestFiles.Under(settings.Paths.Procfs, "/net/dev")) ?? "", ifa.Name);
        }
        var items = new JsonValue[entries.Count];
        for (var i = 0; i < items.Length; i++)
        {
            var e = entries[i];
            items[i] = JsonObject.Of(
                ("name", new JsonString(e.Name)),
                ("hardware-address", e.HardwareAddress is null ? null : new JsonString(e.HardwareAddress)),
                ("ip-addresses", e.Addresses.Count == 0 ? null : new JsonArray(e.Addresses.ToArray())),
                ("statistics", e.Statistics));
        }
        return new JsonArray(items);
    }

    private static readonly JsonString Ipv4Type = new("ipv4");
    private static readonly JsonString Ipv6Type = new("ipv6");

    private static InterfaceEntry? Find(List<InterfaceEntry> entries, string name)
    {
        foreach (var e in entries)
            if (e.Name == name) return e;
        return null;
    }

    /// <summary>The SIOCGIFHWADDR octets as qemu prints them (%02x, colon-separated); null when the ioctl fails.</summary>
    private string? HardwareAddress(string name)
    {
        Span<byte> octets = stackalloc byte[6];
        if (!interfaces.TryHardwareAddress(name, octets)) return null;
        Span<char> text = stackalloc char[17];
        for (var i = 0; i < 6; i++)
        {
            if (i > 0) text[3 * i - 1] = ':';
            text[3 * i] = LowerHex[octets[i] >> 4];
            text[3 * i + 1] = LowerHex[octets[i] & 0xF];
        }
        return new string(text);
    }

    private const string LowerHex = "0123456789abcdef";

    /// <summary>The /proc/net/dev line "name: rx(8 columns) tx(8 columns)"; alias names never match.</summary>
    private static JsonObject? Statistics(string netDev, string name)
    {
        Span<long> v = stackalloc long[16];
        foreach (var range in netDev.AsSpan().Split('\n'))
        {
            var line = netDev.AsSpan(range).TrimStart();
            var colon = line.IndexOf(':');
            if (colon != name.Length || !line.StartsWith(name, StringComparison.Ordinal)) continue;
            var rest = line[(colon + 1)..];
            var count = 0;
            for (; count < 16; count++)
            {
                rest = rest.TrimStart(" \t");
                var end = rest.IndexOfAny(' ', '\t');
                if (rest.IsEmpty || !long.TryParse(end < 0 ? rest : rest[..end], NumberStyles.Integer, CultureInfo.InvariantCulture, out v[count])) break;
                rest = end < 0 ? default : rest[end..];
            }
            if (count < 16) continue;
            return new JsonObject(
            [
                new(StatisticsMembers[0], new JsonInt(v[0])), new(StatisticsMembers[1], new JsonInt(v[1])),
                new(StatisticsMembers[2], new JsonInt(v[2])), new(StatisticsMembers[3], new JsonInt(v[3])),
                new(StatisticsMembers[4], new JsonInt(v[8])), new(StatisticsMembers[5], new JsonInt(v[9])),
                new(StatisticsMembers[6], new JsonInt(v[10])), new(StatisticsMembers[7], new JsonInt(v[11])),
            ]);
        }
        return null;
    }

    /// <summary>
    /// /proc/net/route (header skipped; little-endian hex addresses) then /proc/net/ipv6_route.
    /// A file that cannot be opened fails the command after both were tried (qemu sets the error and goes on).
    /// </summary>
    private JsonValue Routes()
    {
        var routes = new List<JsonValue>();
        string? error = null;
        foreach (var (file, v6) in new[] { ("/net/route", false), ("/net/ipv6_route", true) })
        {
            var path = GuestFiles.Under(settings.Paths.Procfs, file);
            string[] lines;
            try { lines = GuestFiles.ReadLines(path); }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                error ??= $"open(\"{path}\"): {GuestFiles.ErrnoText(ex)}";
                continue;
            }
            foreach (var line in v6 ? lines : lines.Skip(1))
            {
                var route = v6 ? Ipv6Route(line) : Ipv4Route(line);
                if (route is not null) routes.Add(route);
            }
        }
        if (error is not null) throw new CommandException(error);
        return new JsonArray(routes.ToArray());
    }

    private static JsonObject? Ipv4Route(string line)
    {
        // Iface Destination Gateway Flags RefCnt Use Metric Mask MTU Window IRTT
        var f = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
        if (f.Length < 11) return null;
        if (!Hex(f[1], out var dest) || !Hex(f[2], out var gateway) || !Hex(f[3], out var flags) || !Hex(f[7], out var mask)) return null;
        if (!int.TryParse(f[4], out var refcnt) || !int.TryParse(f[5], out var use) || !int.TryParse(f[6], out var metric) ||
            !int.TryParse(f[8], out var mtu) || !int.TryParse(f[9], out var window) || !int.TryParse(f[10], out var irtt)) return null;
        return JsonObject.Of(
            ("iface", new JsonString(f[0])),
            ("destination", new JsonString(Ipv4(dest))),
            ("metric", new JsonInt(metric)),
            ("gateway", new JsonString(Ipv4(gateway))),
            ("mask", new JsonString(Ipv4(mask))),
            ("irtt", UInt64(irtt)),
            ("flags", UInt64((int)flags)),
            ("refcnt", UInt64(refcnt)),
            ("use", UInt64(use)),
            ("window", UInt64(window)),
            ("mtu", UInt64(mtu)),
            ("version", new JsonInt(4)));
    }

    private static JsonObject? Ipv6Route(string line)
    {
        // dest destlen source srclen nexthop metric refcnt use flags iface (all hex)
        var f = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
        if (f.Length < 10) return null;
        if (!Hex(f[1], out var destLen) || !Hex(f[3], out var srcLen) || !Hex(f[5], out var metric) ||
            !Hex(f[6], out var refcnt) || !Hex(f[7], out var use) || !Hex(f[8], out var flags)) return null;
        return JsonObject.Of(
            ("iface", new JsonString(f[9])),
            ("destination", new JsonString(Ipv6(f[0]))),
            ("metric", new JsonInt((int)metric)),
            ("flags", UInt64((int)flags)),
            ("refcnt", UInt64((int)refcnt)),
            ("use", UInt64((int)use)),
            ("desprefixlen", new JsonString(((int)destLen).ToString(CultureInfo.InvariantCulture))),
            ("source", new JsonString(Ipv6(f[2]))),
            ("srcprefixlen", new JsonString(((int)srcLen).ToString(CultureInfo.InvariantCulture))),
            ("nexthop", new JsonString(Ipv6(f[4]))),
            ("version", new JsonInt(6)));
    }

    private static bool Hex(string s, out uint value) =>
        uint.TryParse(s, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out value);

    /// <summary>qemu keeps these C ints and stores them in uint64 members, so -1 becomes 2^64-1.</summary>
    private static JsonValue UInt64(int value) => value >= 0 ? new JsonInt(value) : new JsonUInt(unchecked((ulong)(long)value));

    /// <summary>The kernel prints the address as the hex of a host-order u32 holding network-order bytes.</summary>
    private static string Ipv4(uint raw) => InetAddress.Format(BitConverter.GetBytes(raw));

    private static string Ipv6(string hex)
    {
        var bytes = new byte[16];
        for (var i = 0; i < 16 && 2 * i + 2 <= hex.Length; i++)
            bytes[i] = byte.Parse(hex.AsSpan(2 * i, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        return InetAddress.Format(bytes);
    }
}
