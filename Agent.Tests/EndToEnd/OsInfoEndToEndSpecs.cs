using System.Text.Json;
using Agent.Tests.EndToEnd;
using Agent.Tests.Fakes;

namespace Agent.Tests.EndToEnd;

/// <summary>
/// test-qga's /qga/guest-get-osinfo: the agent started with an environment holding only
/// QGA_OS_RELEASE (no PATH, no HOME, no DOTNET_* variables), through the built binary; Debian's
/// qemu-ga started the same way gives the byte-identical reply.
/// </summary>
public sealed class OsInfoEndToEndSpecs : IDisposable
{
    private readonly FakeTree _tree = new FakeTree().File("test-qga-os-release", """
        ID=qemu-ga-test
        NAME=QEMU-GA
        PRETTY_NAME="QEMU Guest Agent test"
        VERSION="Test 1"
        VERSION_ID=1
        VARIANT="Unit test \"\'\$\`\\ and \\\\ etc."
        VARIANT_ID=unit-test

        """);

    private async Task<string> OsInfo(string binary)
    {
        await using var agent = await AgentProcess.StartAsync(binary, [],
            new Dictionary<string, string> { ["QGA_OS_RELEASE"] = _tree.Path("test-qga-os-release") });
        var reply = await agent.RoundTripAsync("{\"execute\": \"guest-get-osinfo\"}");
        Assert.Equal(0, await agent.TerminateAsync());
        return reply;
    }

    [Fact]
    public async Task Agent_started_with_only_QGA_OS_RELEASE_reports_the_test_qga_values()
    {
        var reply = await OsInfo(AgentProcess.OurAgent);

        var info = EndToEnd.Json.Parse(reply).GetProperty("return");
        Assert.Equal("qemu-ga-test", info.GetProperty("id").GetString());
        Assert.Equal("QEMU-GA", info.GetProperty("name").GetString());
        Assert.Equal("QEMU Guest Agent test", info.GetProperty("pretty-name").GetString());
        Assert.Equal("Test 1", info.GetProperty("version").GetString());
        Assert.Equal("1", info.GetProperty("version-id").GetString());
        Assert.Equal("Unit test \"'$`\\ and \\\\ etc.", info.GetProperty("variant").GetString());
        Assert.Equal("unit-test", info.GetProperty("variant-id").GetString());
        Assert.Equal(File.ReadAllText("/proc/sys/kernel/osrelease").Trim(), info.GetProperty("kernel-release").GetString());
        Assert.Equal(JsonValueKind.String, info.GetProperty("machine").ValueKind);

        Assert.Equal(await OsInfo(AgentProcess.QemuGa), reply);
    }

    public void Dispose() => _tree.Dispose();
}
