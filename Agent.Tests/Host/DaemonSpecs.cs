using Agent.Tests.EndToEnd;
namespace Agent.Tests.Host;

/// <summary>-d/--daemonize with -f/--pidfile (qga/main.c, main; util/oslib-posix.c, qemu_write_pidfile).</summary>
public sealed partial class DaemonSpecs
{
    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "kill")]
    private static partial int Kill(int pid, int signal);

    /// <summary>A failed assertion must not leave the detached daemon running: kill it by its pidfile.</summary>
    private static void KillLeftover(string pidPath)
    {
        try
        {
            if (!int.TryParse(File.ReadAllText(pidPath).Trim(), out var pid) || pid <= 1) return;
            // Only our agent: a stale pid may have been reused by another process.
            var exe = new FileInfo($"/proc/{pid}/exe").LinkTarget;
            if (exe is not null && Path.GetFileName(exe) == Path.GetFileName(AgentProcess.OurAgent)) Kill(pid, 9);
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    [Fact]
    public async Task Daemonize_detaches_writes_a_locked_0600_pidfile_serves_and_removes_it_on_SIGTERM()
    {
        var dir = Directory.CreateTempSubdirectory("agent-daemon-").FullName;
        var pidPath = Path.Combine(dir, "agent.pid");
        var sock = Path.Combine(dir, "sock");
        try
        {
            var psi = new System.Diagnostics.ProcessStartInfo(AgentProcess.OurAgent) { UseShellExecute = false };
            foreach (var a in new[] { "-d", "-m", "unix-listen", "-p", sock, "-t", dir, "-f", pidPath }) psi.ArgumentList.Add(a);
            using (var parent = System.Diagnostics.Process.Start(psi)!)
            {
                await parent.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
                Assert.Equal(0, parent.ExitCode);
            }
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (!(File.Exists(pidPath) && File.ReadAllText(pidPath).EndsWith('\n') && File.Exists(sock)) && DateTime.UtcNow < deadline)
                await Task.Delay(50);
            var pid = int.Parse(File.ReadAllText(pidPath).Trim());
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(pidPath));
            // Detached: its own session, cwd "/".
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            Assert.Equal(pid.ToString(), fields[3]); // session id == pid
            Assert.Equal("/", new DirectoryInfo($"/proc/{pid}/cwd").LinkTarget);

            using (var s = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, 0))
            {
                await s.ConnectAsync(new System.Net.Sockets.UnixDomainSocketEndPoint(sock));
                await s.SendAsync("{\"execute\":\"guest-ping\"}\n"u8.ToArray());
                var buf = new byte[64];
                var n = await s.ReceiveAsync(buf);
                Assert.Equal("{\"return\": {}}\n", System.Text.Encoding.ASCII.GetString(buf, 0, n));
            }

            // A second instance cannot take the pidfile.
            var second = new System.Diagnostics.ProcessStartInfo(AgentProcess.OurAgent) { UseShellExecute = false, RedirectStandardError = true };
            second.Environment["ACTORAGENT_DAEMONIZED"] = "1";
            foreach (var a in new[] { "-m", "unix-listen", "-p", sock + "2", "-t", dir, "-f", pidPath }) second.ArgumentList.Add(a);
            using (var p2 = System.Diagnostics.Process.Start(second)!)
            {
                var err = await p2.StandardError.ReadToEndAsync();
                await p2.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
                Assert.Equal(1, p2.ExitCode);
                Assert.Contains("Cannot lock pid file", err);
            }

            Assert.Equal(0, Kill(pid, 15));
            deadline = DateTime.UtcNow.AddSeconds(30);
            while (Directory.Exists($"/proc/{pid}") && DateTime.UtcNow < deadline) await Task.Delay(50);
            Assert.False(File.Exists(pidPath), "the pidfile was not removed on exit");
        }
        finally
        {
            KillLeftover(pidPath);
            Directory.Delete(dir, true);
        }
    }
}
