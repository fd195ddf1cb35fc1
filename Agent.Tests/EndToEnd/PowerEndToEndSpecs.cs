using Agent.Tests.Fakes;
using Agent.Tests.Commands.Power;

namespace Agent.Tests.EndToEnd;

/// <summary>
/// Issue 3 end to end: the built agent on a unix socket, configured with -c to a HOCON file whose
/// roots and helper path are a fake guest in a temp folder (never the real /sys, /proc or helpers).
/// </summary>
public sealed class PowerEndToEndSpecs : IDisposable
{
    private readonly FakeGuest _guest = new();

    private async Task<AgentProcess> Start(string agentHocon = "")
    {
        var conf = Path.Combine(_guest.Root, "agent.conf");
        File.WriteAllText(conf, _guest.Hocon(agentHocon));
        // A canary only the fake tree holds: the agent must answer from it before any test sends a
        // command that changes state, so a regression in reading -c can never reach this machine's
        // /sys/power or its helpers.
        var canary = $"canary-{Guid.NewGuid():N}";
        Directory.CreateDirectory(Path.Combine(_guest.Root, "etc"));
        File.WriteAllText(Path.Combine(_guest.Root, "etc", "os-release"), $"ID={canary}\n");
        var agent = await AgentProcess.StartOursAsync("-c", conf);
        var osinfo = await agent.RoundTripAsync("{\"execute\": \"guest-get-osinfo\"}");
        if (!osinfo.Contains($"\"id\": \"{canary}\""))
        {
            await agent.DisposeAsync();
            throw new InvalidOperationException($"the agent does not read the fake guest ({osinfo}); no power command was sent");
        }
        return agent;
    }

    /// <summary>Sends a no-reply command then a ping: the first line back must be the ping's.</summary>
    private static async Task AnswersNothing(AgentProcess agent, string request)
    {
        await agent.SendAsync(request + "\n");
        Assert.Equal("{\"return\": {}, \"id\": \"after\"}", await agent.RoundTripAsync("{\"execute\": \"guest-ping\", \"id\": \"after\"}"));
    }

    [Fact]
    public async Task Suspend_disk_sends_no_reply_and_calls_systemctl_hibernate()
    {
        _guest.Helper("systemctl", "[ \"$1\" = status ] && exit 3; exit 0");
        await using var agent = await Start();
        await AnswersNothing(agent, "{\"execute\": \"guest-suspend-disk\", \"id\": 1}");
        Assert.Equal(["systemctl status systemd-hibernate", "systemctl hibernate"], _guest.Calls());
        Assert.Equal("freeze mem disk\n", _guest.ReadSys("power/state"));
        Assert.Equal(0, await agent.TerminateAsync());
    }

    [Fact]
    public async Task Without_systemd_and_pm_utils_disk_is_written_to_the_state_file()
    {
        await using var agent = await Start();
        await AnswersNothing(agent, "{\"execute\": \"guest-suspend-disk\"}");
        Assert.Equal("disk", _guest.ReadSys("power/state"));
        Assert.Equal(0, await agent.TerminateAsync());
    }

    [Fact]
    public async Task Unsupported_modes_give_the_exact_errors()
    {
        _guest.Sys("power/mem_sleep", "[s2idle]\n");
        _guest.Sys("power/disk", "[platform] shutdown reboot\n");
        await using var agent = await Start();
        Assert.Equal("{\"id\": 2, \"error\": {\"class\": \"GenericError\", \"desc\": \"the requested suspend mode is not supported by the guest: mem_sleep offers only s2idle\"}}",
            await agent.RoundTripAsync("{\"execute\": \"guest-suspend-ram\", \"id\": 2}"));
        Assert.Equal("the requested suspend mode is not supported by the guest: mem_sleep offers only s2idle",
            Json.ErrorDesc(await agent.RoundTripAsync("{\"execute\": \"guest-suspend-hybrid\"}")));
        Assert.Empty(_guest.Calls());
        Assert.Equal("freeze mem disk\n", _guest.ReadSys("power/state"));
    }

    [Fact]
    public async Task Under_the_qemu_probe_hybrid_without_helpers_gives_qemus_exact_text()
    {
        await using var agent = await Start("suspend.probe = qemu");
        Assert.Equal("{\"error\": {\"class\": \"GenericError\", \"desc\": \"the requested suspend mode is not supported by the guest\"}}",
            await agent.RoundTripAsync("{\"execute\": \"guest-suspend-hybrid\"}"));
    }

    [Fact]
    public async Task The_capability_query_agrees_with_what_suspend_then_does()
    {
        _guest.Helper("pm-is-supported", "exit 0");
        _guest.Helper("pm-suspend", "exit 0");
        _guest.Sys("power/resume", "0:0\n");
        await using var agent = await Start();
        var caps = Json.Parse(await agent.RoundTripAsync("{\"execute\": \"__org.actoragent_get-power-capabilities\"}")).GetProperty("return");
        var byMode = caps.EnumerateArray().ToDictionary(m => m.GetProperty("mode").GetString()!);
        Assert.False(byMode["disk"].GetProperty("supported").GetBoolean());
        Assert.Equal("no resume device is configured (/sys/power/resume is 0:0)", byMode["disk"].GetProperty("reason").GetString());
        Assert.True(byMode["ram"].GetProperty("supported").GetBoolean());
        Assert.Equal("pm-utils", byMode["ram"].GetProperty("method").GetString());

        Assert.Equal("the requested suspend mode is not supported by the guest: no resume device is configured (/sys/power/resume is 0:0)",
            Json.ErrorDesc(await agent.RoundTripAsync("{\"execute\": \"guest-suspend-disk\"}")));
        await AnswersNothing(agent, "{\"execute\": \"guest-suspend-ram\"}");
        Assert.Contains("pm-suspend ", _guest.Calls());
        Assert.Equal("freeze mem disk\n", _guest.ReadSys("power/state"));
    }

    [Fact]
    public async Task Guest_info_lists_the_power_commands_with_success_response_false()
    {
        await using var agent = await Start();
        var info = Json.Parse(await agent.RoundTripAsync("{\"execute\": \"guest-info\"}")).GetProperty("return").GetProperty("supported_commands");
        var flags = info.EnumerateArray().ToDictionary(c => c.GetProperty("name").GetString()!, c => c.GetProperty("success-response").GetBoolean());
        foreach (var name in new[] { "guest-shutdown", "guest-suspend-disk", "guest-suspend-ram", "guest-suspend-hybrid" })
            Assert.False(flags[name], name);
        Assert.True(flags["__org.actoragent_get-power-capabilities"]);
    }

    [Fact]
    public async Task Shutdown_runs_the_fake_poweroff_and_sends_no_reply_and_rejects_a_bad_mode()
    {
        _guest.Helper("poweroff", "exit 0");
        await using var agent = await Start();
        Assert.Equal("{\"error\": {\"class\": \"GenericError\", \"desc\": \"mode is invalid (valid values are: halt|powerdown|reboot\"}}",
            await agent.RoundTripAsync("{\"execute\": \"guest-shutdown\", \"arguments\": {\"mode\": \"off\"}}"));
        await AnswersNothing(agent, "{\"execute\": \"guest-shutdown\"}");
        Assert.Equal(["poweroff "], _guest.Calls());
        Assert.Equal(0, await agent.TerminateAsync());
    }

    public void Dispose() => _guest.Dispose();
}
