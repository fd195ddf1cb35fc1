using System.Diagnostics;
using System.Text.RegularExpressions;
using Agent.Tests.EndToEnd;

namespace Agent.Tests.Host;

/// <summary>qemu-ga's command-line contract (qga/main.c, config_parse) on the built binary.</summary>
public sealed class CommandLineSpecs
{
    private static async Task<(int Code, string Out, string Err)> RunAsync(params string[] args)
    {
        var psi = new ProcessStartInfo(AgentProcess.OurAgent)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            WorkingDirectory = Path.GetTempPath(),
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment.Remove("QGA_CONF");
        psi.Environment["ACTORAGENT_CONF"] = "/nonexistent/agent.conf";
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await p.WaitForExitAsync(cts.Token);
        return (p.ExitCode, await stdout, await stderr);
    }

    /// <summary>An agent that gets as far as starting creates qga.state; never in the machine's /var/run.</summary>
    private sealed class TempStateDir : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("cli-spec-").FullName;
        public void Dispose() => Directory.Delete(Path, recursive: true);
    }

    [Fact]
    public async Task Version_prints_the_followed_qemu_version_first_then_our_build()
    {
        var (code, stdout, _) = await RunAsync("-V");
        Assert.Equal(0, code);
        var lines = stdout.Split('\n');
        // qemu-ga's own line, unchanged, for scripts that parse it.
        Assert.Equal("QEMU Guest Agent 10.2.50", lines[0]);
        Assert.Matches(@"^ActorAgent \d+\.\d+\.\d+ \(commit [0-9a-f]{12}\)$", lines[1]);
        Assert.Equal(3, lines.Length);
        Assert.Equal("", lines[2]);
    }

    [Fact]
    public async Task An_unknown_option_exits_1_with_qemus_text()
    {
        var (code, _, stderr) = await RunAsync("--frobnicate");
        Assert.Equal(1, code);
        Assert.Contains($"Unknown option, try '{AgentProcess.OurAgent} --help' for more information.", stderr);
    }

    [Theory]
    [InlineData("unix-listen")]
    [InlineData("vsock-listen")]
    public async Task A_listen_method_without_a_path_exits_1(string method)
    {
        var (code, _, stderr) = await RunAsync("-m", method);
        Assert.Equal(1, code);
        Assert.Contains("must specify a path for this channel", stderr);
    }

    [Fact]
    public async Task An_unsupported_method_exits_1()
    {
        using var state = new TempStateDir();
        var (code, _, stderr) = await RunAsync("-m", "carrier-pigeon", "-p", "/nonexistent", "-t", state.Path);
        Assert.Equal(1, code);
        Assert.Contains("unsupported channel method/type: carrier-pigeon", stderr);
    }

    [Fact]
    public async Task Block_rpcs_help_lists_the_commands_in_schema_order()
    {
        var (code, stdout, _) = await RunAsync("-b", "help");
        Assert.Equal(0, code);
        var names = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["guest-sync-delimited", "guest-sync", "guest-ping"], names.Take(3));
        Assert.Contains("guest-info", names);
    }

    [Fact]
    public async Task A_missing_channel_device_exits_1_without_retry_path()
    {
        using var state = new TempStateDir();
        var (code, _, _) = await RunAsync("-m", "virtio-serial", "-p", "/nonexistent/port", "-t", state.Path);
        Assert.Equal(1, code);
    }

    [Fact]
    public async Task Logfile_with_verbose_gets_qemu_formatted_lines_and_stderr_stays_empty()
    {
        var log = Path.Combine(Path.GetTempPath(), $"agent-{Guid.NewGuid():N}.log");
        try
        {
            await using (var agent = await AgentProcess.StartOursAsync("-l", log, "-v"))
            {
                Assert.Equal("{\"return\": {}}", await agent.RoundTripAsync("{\"execute\":\"guest-ping\"}"));
                Assert.Equal(0, await agent.TerminateAsync());
                Assert.Equal("", agent.Stderr.Trim());
            }
            var lines = File.ReadAllLines(log);
            Assert.NotEmpty(lines);
            Assert.All(lines, l => Assert.Matches(@"^\d+\.\d{6}: (error|critical|warning|message|info|debug): ", l));
            Assert.Contains(lines, l => Regex.IsMatch(l, @"Guest agent version 10\.2\.50 started \(ActorAgent \d+\.\d+\.\d+, commit [0-9a-f]{12}\)$"));
        }
        finally
        {
            File.Delete(log);
        }
    }

    [Fact]
    public async Task An_unusable_state_dir_exits_1_like_qemu_ga()
    {
        var (code, _, stderr) = await RunAsync("-m", "unix-listen", "-p", Path.Combine(Path.GetTempPath(), $"s{Guid.NewGuid():N}"),
            "-t", "/nonexistent/agent-state");
        Assert.Equal(1, code);
        Assert.Contains("failed to load persistent state", stderr);
    }
}
