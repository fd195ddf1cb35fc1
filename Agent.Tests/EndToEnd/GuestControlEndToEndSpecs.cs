using System.Diagnostics;
using Agent.Actors.State;

namespace Agent.Tests.EndToEnd;

/// <summary>
/// The built agent over a unix socket with <c>-c</c> pointing every root and the helper path into a
/// temp folder. The fake mount table lists only directories that do not exist, so no ioctl can ever
/// reach a real filesystem; frozen states come from the marker a "previous instance" left.
/// </summary>
public sealed class GuestControlEndToEndSpecs : IDisposable
{
    private static readonly string[] AllowedWhileFrozen =
        ["guest-sync-delimited", "guest-sync", "guest-ping", "guest-info", "guest-fsfreeze-status", "guest-fsfreeze-thaw"];

    private readonly string _root = Directory.CreateTempSubdirectory("agent-e2e-control-").FullName;
    private string StateDir => Path.Combine(_root, "state");
    private string Bin => Path.Combine(_root, "bin");
    private string Calls => Path.Combine(_root, "calls.log");
    private string Conf => Path.Combine(_root, "agent.conf");
    private string LogFile => Path.Combine(_root, "agent.log");
    private string Missing => Path.Combine(_root, "not-a-mount");

    public GuestControlEndToEndSpecs()
    {
        Directory.CreateDirectory(StateDir);
        Directory.CreateDirectory(Bin);
        Directory.CreateDirectory(Path.Combine(_root, "proc", "self"));
        File.WriteAllText(Path.Combine(_root, "proc", "self", "mountinfo"), $"25 22 254:3 / {Missing} rw - xfs /dev/vdb rw\n");
        File.WriteAllText(Conf, $$"""
            agent {
              paths { sysfs = "{{_root}}/sys", procfs = "{{_root}}/proc", etc = "{{_root}}/etc", dev = "{{_root}}/dev" }
              helpers.path = ["{{Bin}}"]
            }
            """);
    }

    /// <summary>
    /// Starts the agent and, unless it starts frozen (osinfo is then disabled), proves it answers from
    /// the fake tree (a canary os-release) before any test sends a command that changes state.
    /// </summary>
    private async Task<AgentProcess> Start(params string[] extra)
    {
        var canary = $"canary-{Guid.NewGuid():N}";
        Directory.CreateDirectory(Path.Combine(_root, "etc"));
        File.WriteAllText(Path.Combine(_root, "etc", "os-release"), $"ID={canary}\n");
        var agent = await AgentProcess.StartOursAsync(["-c", Conf, "-t", StateDir, .. extra]);
        if (File.Exists(FrozenMarker.PathIn(StateDir))) return agent;
        var osinfo = await agent.RoundTripAsync("{\"execute\": \"guest-get-osinfo\"}");
        if (!osinfo.Contains($"\"id\": \"{canary}\""))
        {
            await agent.DisposeAsync();
            throw new InvalidOperationException($"the agent does not read the fake guest ({osinfo}); nothing was sent");
        }
        return agent;
    }

    private void Helper(string name, string body)
    {
        var path = Path.Combine(Bin, name);
        Fakes.Scripts.WriteExecutable(path, $"#!/bin/sh\necho \"{name} $*\" >> '{Calls}'\n{body}\n");
    }

    private void LeaveFrozenMarker() => File.WriteAllText(FrozenMarker.PathIn(StateDir), "");

    private static async Task<string[]> Commands(AgentProcess agent)
    {
        var info = Json.Parse(await agent.RoundTripAsync("{\"execute\":\"guest-info\"}"));
        return info.GetProperty("return").GetProperty("supported_commands").EnumerateArray()
            .Select(c => c.GetProperty("name").GetString()!).ToArray();
    }

    [Fact]
    public async Task An_agent_started_frozen_disables_all_but_six_commands_ignores_SIGTERM_and_thaws_on_request()
    {
        LeaveFrozenMarker();
        await using var agent = await Start();

        Assert.Equal("\"frozen\"", Json.Parse(await agent.RoundTripAsync("{\"execute\":\"guest-fsfreeze-status\"}")).GetProperty("return").GetRawText());
        var commands = await Commands(agent);
        Assert.Contains("guest-fsfreeze-freeze", commands);
        foreach (var name in commands.Except(AllowedWhileFrozen))
            Assert.Equal($"{{\"error\": {{\"class\": \"CommandNotFound\", \"desc\": \"Command {name} has been disabled: the command is not allowed\"}}}}",
                await agent.RoundTripAsync($"{{\"execute\":\"{name}\"}}"));
        Assert.Equal("{\"return\": {}}", await agent.RoundTripAsync("{\"execute\":\"guest-ping\"}"));

        Kill(agent.Pid, AgentProcess.SIGTERM);
        Kill(agent.Pid, 2); // SIGINT
        Assert.Equal("{\"return\": 5}", await agent.RoundTripAsync("{\"execute\":\"guest-sync\",\"arguments\":{\"id\":5}}"));
        await Task.Delay(1000);
        Assert.Equal("{\"return\": 6}", await agent.RoundTripAsync("{\"execute\":\"guest-sync\",\"arguments\":{\"id\":6}}"));

        Assert.Equal("{\"return\": 0}", await agent.RoundTripAsync("{\"execute\":\"guest-fsfreeze-thaw\"}"));
        Assert.False(File.Exists(FrozenMarker.PathIn(StateDir)));
        Assert.Equal("{\"return\": \"thawed\"}", await agent.RoundTripAsync("{\"execute\":\"guest-fsfreeze-status\"}"));
        Assert.DoesNotContain("has been disabled", await agent.RoundTripAsync("{\"execute\":\"guest-get-time\"}"));
        Assert.Equal(0, await agent.TerminateAsync());
    }

    [Fact]
    public async Task The_marker_survives_a_killed_agent_and_the_next_one_starts_frozen_with_qemus_warning()
    {
        LeaveFrozenMarker();
        await using (var first = await Start())
        {
            Assert.Equal("{\"return\": \"frozen\"}", await first.RoundTripAsync("{\"execute\":\"guest-fsfreeze-status\"}"));
            Kill(first.Pid, 9);
            await first.WaitForExitAsync(TimeSpan.FromSeconds(20));
        }
        Assert.True(File.Exists(FrozenMarker.PathIn(StateDir)));

        await using var second = await Start();
        Assert.Equal("{\"return\": \"frozen\"}", await second.RoundTripAsync("{\"execute\":\"guest-fsfreeze-status\"}"));
        Assert.Contains("WARNING **: ", second.Stderr);
        Assert.Contains("previous instance appears to have exited with frozen filesystems. deferring logging/pidfile creation and " +
                        "disabling non-fsfreeze-safe commands until guest-fsfreeze-thaw is issued, or filesystems are manually " +
                        $"unfrozen and the file {FrozenMarker.PathIn(StateDir)} is removed", second.Stderr);
    }

    [Fact]
    public async Task Nothing_is_written_to_the_log_file_while_frozen()
    {
        LeaveFrozenMarker();
        await using var agent = await Start("-v", "-l", LogFile);
        for (var i = 0; i < 5; i++) await agent.RoundTripAsync("{\"execute\":\"guest-get-time\"}");
        await agent.RoundTripAsync("{\"execute\":\"guest-ping\"}");
        await Task.Delay(500);
        Assert.False(File.Exists(LogFile), "the log file must not even be opened while frozen");

        await agent.RoundTripAsync("{\"execute\":\"guest-fsfreeze-thaw\"}");
        Assert.Equal(0, await agent.TerminateAsync());
        var log = File.ReadAllText(LogFile);
        Assert.Contains(": warning: logging re-enabled due to filesystem unfreeze", log);
        Assert.Contains("received signal num 15, quitting", log);
    }

    [Fact]
    public async Task A_freeze_that_fails_runs_both_hook_phases_and_leaves_the_agent_thawed()
    {
        var hook = Path.Combine(Bin, "fsfreeze-hook");
        Helper("fsfreeze-hook", "exit 0");
        await using var agent = await Start($"-F{hook}");

        Assert.Equal($"{{\"error\": {{\"class\": \"GenericError\", \"desc\": \"failed to open {Missing}: No such file or directory\"}}}}",
            await agent.RoundTripAsync("{\"execute\":\"guest-fsfreeze-freeze\"}"));

        Assert.Equal(["fsfreeze-hook freeze", "fsfreeze-hook thaw"], File.ReadAllLines(Calls));
        Assert.Equal("{\"return\": \"thawed\"}", await agent.RoundTripAsync("{\"execute\":\"guest-fsfreeze-status\"}"));
        Assert.False(File.Exists(FrozenMarker.PathIn(StateDir)));
        Assert.Equal(0, await agent.TerminateAsync());
    }

    [Fact]
    public async Task A_password_reaches_chpasswd_on_stdin_and_never_the_log()
    {
        var stdin = Path.Combine(_root, "chpasswd.stdin");
        Helper("chpasswd", $"cat > '{stdin}'");
        await using var agent = await Start("-v", "-l", LogFile);
        const string password = "Tr0ub4dor&3-unique";
        var base64 = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(password));

        Assert.Equal("{\"return\": {}}", await agent.RoundTripAsync(
            $"{{\"execute\":\"guest-set-user-password\",\"arguments\":{{\"username\":\"alice\",\"password\":\"{base64}\",\"crypted\":false}}}}"));

        Assert.Equal($"alice:{password}\n", File.ReadAllText(stdin));
        Assert.Equal(["chpasswd "], File.ReadAllLines(Calls));
        Assert.Equal(0, await agent.TerminateAsync());
        var log = File.ReadAllText(LogFile);
        Assert.DoesNotContain(password, log);
        Assert.DoesNotContain(base64, log);
    }

    [Fact]
    public async Task Dump_conf_shows_the_hook_that_minus_F_selected()
    {
        using var dump = Process.Start(new ProcessStartInfo(AgentProcess.OurAgent, ["-D", "-F", "-m", "unix-listen", "-p", "x"])
        {
            RedirectStandardOutput = true,
        })!;
        var text = await dump.StandardOutput.ReadToEndAsync();
        await dump.WaitForExitAsync();
        Assert.Contains("fsfreeze-hook=/etc/qemu/fsfreeze-hook\n", text);
    }

    [Fact]
    public async Task SIGTERM_with_a_helper_and_an_exec_in_flight_exits_0_and_leaves_no_process_behind()
    {
        var helperPid = Path.Combine(_root, "chpasswd.pid");
        Helper("chpasswd", $"echo $$ > '{helperPid}'; sleep 100");
        await using var agent = await Start();
        var exec = Json.Parse(await agent.RoundTripAsync(
            "{\"execute\":\"guest-exec\",\"arguments\":{\"path\":\"/bin/sleep\",\"arg\":[\"100\"],\"capture-output\":true}}"));
        var execPid = exec.GetProperty("return").GetProperty("pid").GetInt32();
        var base64 = Convert.ToBase64String("secret"u8.ToArray());
        await agent.SendAsync($"{{\"execute\":\"guest-set-user-password\",\"arguments\":{{\"username\":\"alice\",\"password\":\"{base64}\",\"crypted\":false}}}}\n");
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!(File.Exists(helperPid) && File.ReadAllText(helperPid).EndsWith('\n')) && DateTime.UtcNow < deadline) await Task.Delay(20);
        var chpasswdPid = int.Parse(File.ReadAllText(helperPid));
        Assert.True(Processes.ProcFs.IsAlive(execPid) && Processes.ProcFs.IsAlive(chpasswdPid), "the children are not running");

        Assert.Equal(0, await agent.TerminateAsync());

        // Both process groups were killed at the stop (reparented to init, a zombie is init's to reap).
        deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while ((Processes.ProcFs.IsAlive(execPid) || Processes.ProcFs.IsAlive(chpasswdPid)) && DateTime.UtcNow < deadline) await Task.Delay(20);
        Assert.False(Processes.ProcFs.IsAlive(execPid), $"guest-exec's child {execPid} outlived the agent");
        Assert.False(Processes.ProcFs.IsAlive(chpasswdPid), $"chpasswd {chpasswdPid} outlived the agent");
    }

    [Fact]
    public async Task A_daemon_started_frozen_writes_its_pidfile_only_at_thaw()
    {
        LeaveFrozenMarker();
        var pidPath = Path.Combine(_root, "agent.pid");
        var sock = Path.Combine(_root, "sock");
        var psi = new ProcessStartInfo(AgentProcess.OurAgent) { UseShellExecute = false };
        foreach (var a in new[] { "-d", "-c", Conf, "-m", "unix-listen", "-p", sock, "-t", StateDir, "-f", pidPath }) psi.ArgumentList.Add(a);
        using (var parent = Process.Start(psi)!)
        {
            await parent.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(0, parent.ExitCode);
        }
        using var s = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, 0);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            try
            {
                await s.ConnectAsync(new System.Net.Sockets.UnixDomainSocketEndPoint(sock));
                break;
            }
            catch (System.Net.Sockets.SocketException) when (DateTime.UtcNow < deadline) { await Task.Delay(50); }
        }
        async Task<string> RoundTrip(string request)
        {
            await s.SendAsync(System.Text.Encoding.ASCII.GetBytes(request + "\n"));
            var buf = new byte[4096];
            return System.Text.Encoding.ASCII.GetString(buf, 0, await s.ReceiveAsync(buf)).TrimEnd('\n');
        }

        Assert.Equal("{\"return\": \"frozen\"}", await RoundTrip("{\"execute\":\"guest-fsfreeze-status\"}"));
        Assert.False(File.Exists(pidPath), "no pidfile while frozen");

        Assert.Equal("{\"return\": 0}", await RoundTrip("{\"execute\":\"guest-fsfreeze-thaw\"}"));
        deadline = DateTime.UtcNow.AddSeconds(30);
        while (!(File.Exists(pidPath) && File.ReadAllText(pidPath).EndsWith('\n')) && DateTime.UtcNow < deadline) await Task.Delay(50);
        var pid = int.Parse(File.ReadAllText(pidPath).Trim());
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(pidPath));

        Assert.Equal(0, Kill(pid, AgentProcess.SIGTERM));
        deadline = DateTime.UtcNow.AddSeconds(30);
        while (Directory.Exists($"/proc/{pid}") && DateTime.UtcNow < deadline) await Task.Delay(50);
        Assert.False(Directory.Exists($"/proc/{pid}"), "the daemon did not exit on SIGTERM after thaw");
        Assert.False(File.Exists(pidPath), "the pidfile was not removed on exit");
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill")]
    private static extern int Kill(int pid, int signal);

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }
}
