namespace Agent.Tests.EndToEnd;

/// <summary>
/// QEMU's tests/unit/test-qga.c cases that apply to the protocol core, against the built
/// Agent.Host on a unix socket, with the fixture's conventions: cwd and state dir in a temp folder,
/// one connection for the shared cases, SIGTERM and exit status 0 at the end.
/// </summary>
public sealed class TestQgaSpecs
{
    [Fact]
    public async Task Shared_fixture_cases_then_SIGTERM_exits_0()
    {
        await using var agent = await AgentProcess.StartOursAsync();

        // /qga/sync-delimited: raw 0xFF, then sync-delimited; skip bytes up to 0xFF, then one object.
        var r = (uint)Random.Shared.Next();
        await agent.SendAsync([0xFF]);
        await agent.SendAsync($"{{\"execute\": \"guest-sync-delimited\", \"arguments\": {{\"id\": {r}}}}}\n");
        var first = await agent.ReadLineAsync();
        Assert.Contains("JSON parse error, stray", first);
        var delimited = await agent.ReadLineAsync();
        Assert.StartsWith("\u00FF", delimited);
        Assert.Equal(r, Json.Parse(delimited[1..]).GetProperty("return").GetUInt32());

        // /qga/sync
        r = (uint)Random.Shared.Next();
        var sync = await agent.RoundTripAsync($"{{\"execute\": \"guest-sync\", \"arguments\": {{\"id\": {r}}}}}");
        Assert.Equal(r, Json.Parse(sync).GetProperty("return").GetUInt32());

        // /qga/ping
        Assert.Equal("{\"return\": {}}", await agent.RoundTripAsync("{\"execute\": \"guest-ping\"}"));

        // /qga/info
        var info = Json.Parse(await agent.RoundTripAsync("{\"execute\": \"guest-info\"}"));
        Assert.Equal("10.2.50", info.GetProperty("return").GetProperty("version").GetString());

        // /qga/id
        var id = Json.Parse(await agent.RoundTripAsync("{\"execute\": \"guest-ping\", \"id\": 1}"));
        Assert.Equal(1, id.GetProperty("id").GetInt32());
        Assert.False(id.TryGetProperty("error", out _));

        // /qga/invalid-oob
        var oob = await agent.RoundTripAsync("{\"exec-oob\": \"guest-ping\"}");
        Assert.Equal("GenericError", Json.ErrorClass(oob));
        Assert.NotEmpty(Json.ErrorDesc(oob));
        Assert.False(Json.Parse(oob).TryGetProperty("return", out _));

        // /qga/invalid-cmd
        var cmd = await agent.RoundTripAsync("{\"execute\": \"guest-invalid-cmd\"}");
        Assert.Equal("CommandNotFound", Json.ErrorClass(cmd));
        Assert.NotEmpty(Json.ErrorDesc(cmd));

        // /qga/invalid-args
        var args = await agent.RoundTripAsync("{\"execute\": \"guest-ping\", \"arguments\": {\"foo\": 42}}");
        Assert.Equal("GenericError", Json.ErrorClass(args));
        Assert.Equal("Parameter 'foo' is unexpected", Json.ErrorDesc(args));

        // No unsolicited output anywhere in the session.
        Assert.True(await agent.StaysSilentAsync(TimeSpan.FromMilliseconds(200)));
        Assert.Equal(0, await agent.TerminateAsync());
    }

    [Fact]
    public async Task Blockedrpcs_disable_exactly_the_listed_commands()
    {
        await using var agent = await AgentProcess.StartOursAsync("-b", "guest-ping,guest-get-time");
        foreach (var name in new[] { "guest-ping", "guest-get-time" })
        {
            var reply = await agent.RoundTripAsync($"{{\"execute\": \"{name}\"}}");
            Assert.Equal("CommandNotFound", Json.ErrorClass(reply));
            Assert.Contains("has been disabled", Json.ErrorDesc(reply));
        }
        Assert.False(Json.IsError(await agent.RoundTripAsync("{\"execute\": \"guest-info\"}")));
        Assert.Equal(0, await agent.TerminateAsync());
    }

    [Fact]
    public async Task Allowedrpcs_enable_only_the_listed_commands()
    {
        await using var agent = await AgentProcess.StartOursAsync("-a", "guest-ping,guest-sync");
        Assert.False(Json.IsError(await agent.RoundTripAsync("{\"execute\": \"guest-ping\"}")));
        Assert.False(Json.IsError(await agent.RoundTripAsync("{\"execute\": \"guest-sync\", \"arguments\": {\"id\": 3}}")));
        var info = await agent.RoundTripAsync("{\"execute\": \"guest-info\"}");
        Assert.Equal("CommandNotFound", Json.ErrorClass(info));
        Assert.Equal("Command guest-info has been disabled: the command is not allowed", Json.ErrorDesc(info));
        Assert.Equal(0, await agent.TerminateAsync());
    }

    [Fact]
    public async Task Config_dump_round_trips_the_test_qga_keyfile()
    {
        var dir = Directory.CreateTempSubdirectory("agent-conf-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "test-qga-config"), """
                [general]
                daemon=false
                method=virtio-serial
                path=/path/to/org.qemu.guest_agent.0
                pidfile=/var/foo/qemu-ga.pid
                statedir=/var/state
                verbose=true
                block-rpcs=guest-ping;guest-get-time
                """);
            var psi = new System.Diagnostics.ProcessStartInfo(AgentProcess.OurAgent, "-D")
            {
                WorkingDirectory = dir, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            };
            psi.Environment.Clear();
            psi.Environment["QGA_CONF"] = "test-qga-config";
            psi.Environment["ACTORAGENT_CONF"] = "no-agent.conf";
            using var p = System.Diagnostics.Process.Start(psi)!;
            var stdout = await p.StandardOutput.ReadToEndAsync();
            var stderr = await p.StandardError.ReadToEndAsync();
            await p.WaitForExitAsync();
            Assert.Equal("", stderr);
            Assert.Equal(0, p.ExitCode);
            // The merged layers come first as comments, which test-qga's keyfile parser skips.
            Assert.Equal("""
                # merged: test-qga-config (qemu-ga keyfile)
                [general]
                daemon=false
                method=virtio-serial
                path=/path/to/org.qemu.guest_agent.0
                pidfile=/var/foo/qemu-ga.pid
                statedir=/var/state
                verbose=true
                retry-path=false
                block-rpcs=guest-ping;guest-get-time
                allow-rpcs=

                """.Replace("\r", ""), stdout);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
