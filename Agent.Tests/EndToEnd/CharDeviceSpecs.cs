using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace Agent.Tests.EndToEnd;

/// <summary>
/// The virtio-serial and isa-serial transports against a pty: the test holds the master (the
/// "host"), the agent opens the slave as its char device. Closing the master is a host disconnect:
/// read gives EOF/HUP, as a virtio port does when no host process is attached.
/// </summary>
public sealed partial class CharDeviceSpecs
{
    [LibraryImport("libc", SetLastError = true)]
    private static partial int posix_openpt(int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int grantpt(int fd);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int unlockpt(int fd);

    [LibraryImport("libc", EntryPoint = "ptsname", SetLastError = true)]
    private static partial nint ptsname(int fd);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int close(int fd);

    [LibraryImport("libc", SetLastError = true)]
    private static unsafe partial nint write(int fd, byte* buf, nint count);

    [LibraryImport("libc", SetLastError = true)]
    private static unsafe partial nint read(int fd, byte* buf, nint count);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int tcgetattr(int fd, out Termios t);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int tcsetattr(int fd, int actions, in Termios t);

    [StructLayout(LayoutKind.Sequential)]
    private unsafe struct Termios
    {
        public uint Iflag, Oflag, Cflag, Lflag;
        public byte Line;
        public fixed byte Cc[32];
        public uint Ispeed, Ospeed;
    }

    private sealed class Pty : IDisposable
    {
        public int Master { get; private set; }
        public string Slave { get; }

        public Pty()
        {
            Master = posix_openpt(0x2 | 0x100); // O_RDWR | O_NOCTTY
            Assert.True(Master >= 0);
            Assert.Equal(0, grantpt(Master));
            Assert.Equal(0, unlockpt(Master));
            Slave = Marshal.PtrToStringUTF8(ptsname(Master))!;
            // Raw on the master side too, so our bytes pass untouched.
            Assert.Equal(0, tcgetattr(Master, out var t));
            t.Iflag = 0;
            t.Oflag = 0;
            t.Lflag = 0;
            Assert.Equal(0, tcsetattr(Master, 0, t));
        }

        public unsafe void Send(string text)
        {
            var bytes = Encoding.ASCII.GetBytes(text);
            fixed (byte* p = bytes) Assert.Equal(bytes.Length, (int)write(Master, p, bytes.Length));
        }

        /// <summary>Reads one line from the agent (blocking read on a worker thread, bounded by a timeout).</summary>
        public async Task<string> ReadLineAsync()
        {
            var line = new StringBuilder();
            var task = Task.Run(() =>
            {
                var one = new byte[1];
                while (true)
                {
                    unsafe
                    {
                        fixed (byte* p = one)
                            if (read(Master, p, 1) != 1) throw new IOException("pty read failed");
                    }
                    if (one[0] == '\n') return line.ToString();
                    line.Append((char)one[0]);
                }
            });
            return await task.WaitAsync(TimeSpan.FromSeconds(20));
        }

        public void HangUp()
        {
            close(Master);
            Master = -1;
        }

        public void Dispose()
        {
            if (Master >= 0) close(Master);
        }
    }

    [Theory]
    [InlineData("virtio-serial")]
    [InlineData("isa-serial")]
    public async Task Serves_a_char_device_and_survives_the_host_going_away(string method)
    {
        using var pty = new Pty();
        var dir = Directory.CreateTempSubdirectory("agent-pty-").FullName;
        var psi = new ProcessStartInfo(AgentProcess.OurAgent) { UseShellExecute = false, RedirectStandardError = true, WorkingDirectory = dir };
        foreach (var a in new[] { "-m", method, "-p", pty.Slave, "-t", dir }) psi.ArgumentList.Add(a);
        using var agent = Process.Start(psi)!;
        agent.ErrorDataReceived += (_, _) => { };
        agent.BeginErrorReadLine();
        try
        {
            // isa-serial flushes pending input when it opens the tty (TCIFLUSH), as qemu-ga does:
            // talk only once the agent holds the device.
            await WaitUntilOpenedAsync(agent, pty.Slave);
            pty.Send("{\"execute\":\"guest-sync\",\"arguments\":{\"id\":5}}\n");
            Assert.Equal("{\"return\": 5}", await pty.ReadLineAsync());
            pty.Send("{'execute':'guest-ping'}");
            Assert.Equal("{\"return\": {}}", await pty.ReadLineAsync());

            // Host gone: the agent must not exit. That it does not spin either (qemu-ga backs off 100 ms
            // per poll) is measured by bench/chardev_idle.py, not asserted here.
            pty.HangUp();
            await Task.Delay(2000);
            Assert.False(agent.HasExited, "the agent exited when the host went away");

            Assert.Equal(0, Kill(agent.Id, 15));
            await agent.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(20));
            Assert.Equal(0, agent.ExitCode);
        }
        finally
        {
            if (!agent.HasExited) agent.Kill();
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public async Task With_retry_path_a_missing_port_is_waited_for_instead_of_exiting()
    {
        using var pty = new Pty();
        var dir = Directory.CreateTempSubdirectory("agent-retry-").FullName;
        var port = Path.Combine(dir, "org.qemu.guest_agent.0");
        var conf = Path.Combine(dir, "agent.conf");
        File.WriteAllText(conf, "agent.channel.retry-interval = 200ms\n");
        var psi = new ProcessStartInfo(AgentProcess.OurAgent) { UseShellExecute = false, RedirectStandardError = true, WorkingDirectory = dir };
        foreach (var a in new[] { "-r", "-c", conf, "-m", "virtio-serial", "-p", port, "-t", dir }) psi.ArgumentList.Add(a);
        using var agent = Process.Start(psi)!;
        agent.ErrorDataReceived += (_, _) => { };
        agent.BeginErrorReadLine();
        try
        {
            await Task.Delay(1000);
            Assert.False(agent.HasExited, "without the port the agent exited instead of retrying");
            // The port appears (hot-plug): the agent opens it on its next retry and serves.
            File.CreateSymbolicLink(port, pty.Slave);
            await WaitUntilOpenedAsync(agent, pty.Slave);
            pty.Send("{\"execute\":\"guest-sync\",\"arguments\":{\"id\":77}}\n");
            Assert.Equal("{\"return\": 77}", await pty.ReadLineAsync());
            Assert.Equal(0, Kill(agent.Id, 15));
            await agent.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(20));
            Assert.Equal(0, agent.ExitCode);
        }
        finally
        {
            if (!agent.HasExited) agent.Kill();
            Directory.Delete(dir, true);
        }
    }

    private static async Task WaitUntilOpenedAsync(Process agent, string device)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            Assert.False(agent.HasExited, "the agent exited before opening its channel");
            foreach (var fd in Directory.EnumerateFileSystemEntries($"/proc/{agent.Id}/fd"))
            {
                try
                {
                    if (new FileInfo(fd).LinkTarget == device) return;
                }
                catch (IOException) { }
            }
            await Task.Delay(50);
        }
        Assert.Fail($"the agent never opened {device}");
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
