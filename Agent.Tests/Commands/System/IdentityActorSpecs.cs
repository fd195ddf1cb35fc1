using Agent.Actors.Commands.System;
using Agent.Actors.Platform;
using Agent.Actors.Settings;
using Agent.Protocol.Json;
using Akka.Configuration;
using Xunit.Abstractions;
using Agent.Tests.Fakes;

namespace Agent.Tests.Commands.System;

public sealed class IdentityActorSpecs(ITestOutputHelper output) : FamilySpec(output), IDisposable
{
    /// <summary>tests/data/test-qga-os-release, byte for byte.</summary>
    private const string TestQgaOsRelease = """
        ID=qemu-ga-test
        NAME=QEMU-GA
        PRETTY_NAME="QEMU Guest Agent test"
        VERSION="Test 1"
        VERSION_ID=1
        VARIANT="Unit test \"\'\$\`\\ and \\\\ etc."
        VARIANT_ID=unit-test

        """;

    private readonly FakeTree _tree = new();

    /// <summary>The reply value as a tree: osinfo's is kept written (<see cref="JsonEncoded"/>), so it is parsed back.</summary>
    private static JsonObject Tree(JsonValue value)
    {
        if (value is not JsonEncoded encoded) return (JsonObject)value;
        var items = new List<StreamItem>();
        new JsonStreamer().Feed(encoded.Bytes, items);
        return (JsonObject)((StreamValue)Assert.Single(items)).Value;
    }

    /// <summary>
    /// Compact JSON with the members in the order the test wrote them (kernel fields, then os-release's
    /// in <c>OsReleaseMembers</c> order): the kept reply is in qemu's wire order, which the end-to-end specs check.
    /// </summary>
    private static string InTestOrder(JsonValue value)
    {
        var tree = Tree(value);
        string[] order = ["kernel-release", "kernel-version", "machine", "id", "name", "pretty-name", "version", "version-id", "variant", "variant-id"];
        Assert.All(tree.Members, m => Assert.Contains(m.Key, order));
        return Json.Text(JsonObject.Of(order.Where(k => tree[k] is not null).Select(k => (k, tree[k])).ToArray()));
    }

    private Akka.Actor.IActorRef Identity(AgentSettings settings, IKernel? kernel = null, IClock? clock = null) =>
        Sys.ActorOf(IdentityActor.Props(settings, kernel ?? new FakeKernel(),
            clock ?? new FakeClock(1_700_000_000_123_456, new LocalZone("CET", 3600))));

    [Fact]
    public async Task Osinfo_reads_the_QGA_OS_RELEASE_file_with_the_test_qga_values()
    {
        _tree.File("data/test-qga-os-release", TestQgaOsRelease)
             .File("etc/os-release", "ID=wrong\n");
        var settings = SettingsFor(_tree) with { };
        settings = settings with { Inventory = settings.Inventory with { OsReleaseOverride = _tree.Path("data/test-qga-os-release") } };

        var info = await Succeeds(Identity(settings), "guest-get-osinfo");

        Assert.Equal(Json.Canonical("""
            {"kernel-release":"6.1.0-test","kernel-version":"#1 SMP PREEMPT_DYNAMIC Debian 6.1.0","machine":"x86_64",
             "id":"qemu-ga-test","name":"QEMU-GA","pretty-name":"QEMU Guest Agent test","version":"Test 1","version-id":"1",
             "variant":"Unit test \"'$`\\ and \\\\ etc.","variant-id":"unit-test"}
            """), InTestOrder(info));
    }

    [Fact]
    public async Task Osinfo_override_that_cannot_be_read_gives_only_the_kernel_fields()
    {
        _tree.File("etc/os-release", "ID=debian\n");
        var settings = SettingsFor(_tree);
        settings = settings with { Inventory = settings.Inventory with { OsReleaseOverride = _tree.Path("missing") } };

        var info = await Succeeds(Identity(settings), "guest-get-osinfo");

        Assert.Equal("""{"kernel-release":"6.1.0-test","kernel-version":"#1 SMP PREEMPT_DYNAMIC Debian 6.1.0","machine":"x86_64"}""", InTestOrder(info));
    }

    [Fact]
    public async Task Osinfo_prefers_etc_then_falls_back_to_usr_lib()
    {
        _tree.File("usr/lib/os-release", "ID=fallback\nNAME='Single Quoted Name'\nVERSION=12 (bookworm)\nVARIANT=a;b\n");
        var settings = SettingsFor(_tree);

        var fromUsr = Tree(await Succeeds(Identity(settings), "guest-get-osinfo"));
        Assert.Equal(new JsonString("fallback"), fromUsr["id"]);
        // qemu-ga would report "'Single"; the shell's meaning is the whole quoted text.
        Assert.Equal(new JsonString("Single Quoted Name"), fromUsr["name"]);
        // Unquoted values are cut at the first space, then at the first ';', as qemu-ga does.
        Assert.Equal(new JsonString("12"), fromUsr["version"]);
        Assert.Equal(new JsonString("a"), fromUsr["variant"]);
        Assert.Null(fromUsr["pretty-name"]);

        _tree.File("etc/os-release", "ID=etc\n");
        var fromEtc = Tree(await Succeeds(Identity(settings), "guest-get-osinfo"));
        Assert.Equal(new JsonString("etc"), fromEtc["id"]);
    }

    [Fact]
    public async Task Osinfo_ignores_a_file_that_glib_would_reject_and_falls_back()
    {
        _tree.File("etc/os-release", "ID=debian\nthis line is not a pair\n")
             .File("usr/lib/os-release", "ID=fallback\n");
        var info = Tree(await Succeeds(Identity(SettingsFor(_tree)), "guest-get-osinfo"));
        Assert.Equal(new JsonString("fallback"), info["id"]);

        File.Delete(_tree.Path("usr/lib/os-release"));
        info = Tree(await Succeeds(Identity(SettingsFor(_tree)), "guest-get-osinfo"));
        Assert.Null(info["id"]);
        Assert.Equal(3, info.Members.Count);
    }

    [Fact]
    public async Task Osinfo_ignores_a_file_that_is_not_utf8()
    {
        _tree.File("etc/os-release", "");
        File.WriteAllBytes(_tree.Path("etc/os-release"), [(byte)'I', (byte)'D', (byte)'=', 0xff, 0xfe, (byte)'\n']);

        var info = Tree(await Succeeds(Identity(SettingsFor(_tree)), "guest-get-osinfo"));

        Assert.Null(info["id"]);
    }

    [Theory]
    [InlineData("plain", "plain")]
    [InlineData("two words", "two")]
    [InlineData("x;y z", "x")]
    [InlineData("\"quoted value\" trailing", "quoted value")]
    [InlineData("\"a\\nb\"", "a\\nb")]
    [InlineData("\"tail backslash\\", "tail backslash\\")]
    [InlineData("'it''s'", "it")]
    [InlineData("'$HOME \\n'", "$HOME \\n")]
    [InlineData("'unterminated value", "unterminated value")]
    [InlineData("", "")]
    public void Unquote_follows_the_shell_for_quotes_and_qemu_for_bare_words(string raw, string expected) =>
        Assert.Equal(expected, OsRelease.Unquote(raw));

    [Fact]
    public void Parse_keeps_only_the_os_release_group_and_the_last_duplicate()
    {
        var values = OsRelease.Parse("# comment\n  ID=first\nID = second\nNAME[de]=Name\n[Other]\nVERSION=1\n")!;
        Assert.Equal("second", values["ID"]);
        Assert.Equal("Name", values["NAME[de]"]);
        Assert.False(values.ContainsKey("VERSION"));
    }

    [Fact]
    public void QGA_OS_RELEASE_sets_the_override_unless_the_configuration_does()
    {
        var agent = AgentSettings.DefaultConfig().GetConfig("agent");
        string? Env(string name) => name == "QGA_OS_RELEASE" ? "/tmp/from-env" : null;
        Assert.Equal("/tmp/from-env", InventorySettings.Create(agent, Env).OsReleaseOverride);
        Assert.Null(InventorySettings.Create(agent, _ => null).OsReleaseOverride);

        var configured = ConfigurationFactory.ParseString("paths.os-release = /etc/custom").WithFallback(agent);
        Assert.Equal("/etc/custom", InventorySettings.Create(configured, Env).OsReleaseOverride);
    }

    [Fact]
    public async Task Host_name_is_asked_on_every_call_and_failures_use_qemus_text()
    {
        Assert.Equal("""{"host-name":"guest-1"}""", Json.Text(await Succeeds(Identity(SettingsFor(_tree)), "guest-get-host-name")));
        var error = await Error(Identity(SettingsFor(_tree), new FakeKernel { HostNameFails = true }), "guest-get-host-name");
        Assert.Equal("cannot get hostname: Invalid argument", error.Desc);
    }

    [Fact]
    public async Task Timezone_reports_the_abbreviation_and_the_offset_east_of_utc()
    {
        var cet = await Succeeds(Identity(SettingsFor(_tree)), "guest-get-timezone");
        Assert.Equal("""{"zone":"CET","offset":3600}""", Json.Text(cet));

        var noAbbreviation = Identity(SettingsFor(_tree), clock: new FakeClock(0, new LocalZone(null, -12600)));
        Assert.Equal("""{"offset":-12600}""", Json.Text(await Succeeds(noAbbreviation, "guest-get-timezone")));
    }

    [Fact]
    public async Task Real_zone_agrees_with_dotnet()
    {
        var zone = (JsonObject)await Succeeds(Identity(SettingsFor(_tree), LinuxKernel.Instance, SystemClock.Instance), "guest-get-timezone");
        Assert.Equal(new JsonInt((long)TimeZoneInfo.Local.GetUtcOffset(DateTime.UtcNow).TotalSeconds), zone["offset"]);
    }

    private static FakeClock ClockAt(DateTime utc) =>
        new((utc - DateTime.UnixEpoch).Ticks / TimeSpan.TicksPerMicrosecond, new LocalZone("UTC", 0));

    [Fact]
    public void Os_release_is_parsed_again_only_when_statx_shows_a_change()
    {
        _tree.File("etc/os-release", "ID=debian\nVERSION_ID=12\n");
        // The file was written seconds before "now": its values may be kept.
        var file = new OsReleaseFile(_tree.Path("etc/os-release"), ClockAt(DateTime.UtcNow.AddSeconds(10)));

        var first = file.Load();
        Assert.Equal("12", first!["VERSION_ID"]);
        Assert.Same(first, file.Load());

        // Rewritten in place with another size, then replaced through a rename (new inode, same size).
        File.WriteAllText(_tree.Path("etc/os-release"), "ID=debian\nVERSION_ID=13.1\n");
        var second = file.Load();
        Assert.Equal("13.1", second!["VERSION_ID"]);
        _tree.File("etc/os-release.new", "ID=debian\nVERSION_ID=14.1\n");
        File.Move(_tree.Path("etc/os-release.new"), _tree.Path("etc/os-release"), overwrite: true);
        Assert.Equal("14.1", file.Load()!["VERSION_ID"]);

        // Removed: nothing, as a read would give; written again: read again.
        File.Delete(_tree.Path("etc/os-release"));
        Assert.Null(file.Load());
        _tree.File("etc/os-release", "ID=arch\n");
        Assert.Equal("arch", file.Load()!["ID"]);
    }

    [Fact]
    public async Task Osinfo_asks_uname_once_and_keeps_its_reply_while_os_release_is_unchanged()
    {
        _tree.File("etc/os-release", "ID=debian\nVERSION_ID=12\n");
        var kernel = new FakeKernel();
        var identity = Identity(SettingsFor(_tree), kernel, ClockAt(DateTime.UtcNow.AddSeconds(10)));
        const string Kernel = "\"kernel-release\":\"6.1.0-test\",\"kernel-version\":\"#1 SMP PREEMPT_DYNAMIC Debian 6.1.0\",\"machine\":\"x86_64\"";

        var first = await Succeeds(identity, "guest-get-osinfo");
        var second = await Succeeds(identity, "guest-get-osinfo");
        Assert.Equal("{" + Kernel + ",\"id\":\"debian\",\"version-id\":\"12\"}", InTestOrder(first));
        Assert.Same(first, second);

        File.WriteAllText(_tree.Path("etc/os-release"), "ID=debian\nVERSION_ID=13.1\n");
        var changed = await Succeeds(identity, "guest-get-osinfo");
        Assert.Equal("{" + Kernel + ",\"id\":\"debian\",\"version-id\":\"13.1\"}", InTestOrder(changed));

        File.Delete(_tree.Path("etc/os-release"));
        Assert.Equal("{" + Kernel + "}", InTestOrder(await Succeeds(identity, "guest-get-osinfo")));
        Assert.Equal(1, kernel.UnameCalls);
    }

    [Fact]
    public void Os_release_changed_within_the_last_second_is_read_on_every_call()
    {
        // A write right after the read could land in the same clock tick and leave ctime as it was.
        _tree.File("etc/os-release", "ID=debian\n");
        var file = new OsReleaseFile(_tree.Path("etc/os-release"), ClockAt(DateTime.UtcNow));
        var first = file.Load();
        Assert.Equal("debian", first!["ID"]);
        Assert.NotSame(first, file.Load());
    }

    [Fact]
    public void Os_release_that_is_not_a_regular_file_is_read_on_every_call()
    {
        // /proc/self/environ changes without a ctime of its own and reports size 0.
        var file = new OsReleaseFile("/proc/self/environ", ClockAt(DateTime.UtcNow.AddDays(1)));
        Assert.NotSame(file.Load(), file.Load());
        Assert.Null(new OsReleaseFile(_tree.Root, ClockAt(DateTime.UtcNow.AddDays(1))).Load());
    }

    public new void Dispose()
    {
        _tree.Dispose();
        base.Dispose();
    }
}
