using Agent.Tests.Protocol;

namespace Agent.Tests.EndToEnd;

/// <summary>
/// The whole agent against Debian's qemu-ga: the same byte streams (protocol errors, recovery,
/// sync, ping, argument errors, limits) go to both binaries over unix sockets and the reply lines
/// must be byte-identical — member order included. The corpus avoids where Debian's qemu-ga 7.2 differs from HEAD.
/// </summary>
public sealed class AgentDifferentialSpecs(QemuGaOracle oracle, OurAgentFixture ours)
    : IClassFixture<QemuGaOracle>, IClassFixture<OurAgentFixture>
{
    public static TheoryData<string, string> Corpus => QemuGaOracleSpecs.Corpus;

    [Theory]
    [MemberData(nameof(Corpus))]
    public async Task Replies_are_byte_identical_to_qemu_ga(string name, string stream)
    {
        var bytes = ProtocolTestBytes.B(stream);
        var expected = await oracle.Replies(bytes);
        var actual = await ours.Replies(bytes);
        Assert.True(expected.Count > 0, name);
        Assert.Equal(Render(expected), Render(actual));
    }

    [Fact]
    public async Task Guest_info_has_the_same_shape_and_flags_for_common_commands()
    {
        var request = ProtocolTestBytes.B("{\"execute\":\"guest-info\"}");
        var theirs = Json.Parse(System.Text.Encoding.Latin1.GetString((await oracle.Replies(request))[0]));
        var mine = Json.Parse(System.Text.Encoding.Latin1.GetString((await ours.Replies(request))[0]));
        var theirCommands = theirs.GetProperty("return").GetProperty("supported_commands").EnumerateArray()
            .ToDictionary(c => c.GetProperty("name").GetString()!, c => Json.Canonical(c));
        var myCommands = mine.GetProperty("return").GetProperty("supported_commands").EnumerateArray().ToList();
        Assert.Equal(["version", "supported_commands"], mine.GetProperty("return").EnumerateObject().Select(p => p.Name).OrderDescending());
        foreach (var c in myCommands)
        {
            var entryName = c.GetProperty("name").GetString()!;
            Assert.Equal(["enabled", "name", "success-response"], c.EnumerateObject().Select(p => p.Name).Order());
            if (theirCommands.TryGetValue(entryName, out var their))
                Assert.Equal(their, Json.Canonical(c));
        }
        // Common commands keep qemu-ga's relative (reverse schema) order.
        var common = myCommands.Select(c => c.GetProperty("name").GetString()!).Where(theirCommands.ContainsKey).ToList();
        Assert.Equal(theirCommands.Keys.Where(common.Contains).ToList(), common);
    }

    private static string Render(List<byte[]> lines) =>
        string.Join("\n", lines.Select(l => System.Text.Encoding.Latin1.GetString(l)));
}
