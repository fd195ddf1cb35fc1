using Xunit.Abstractions;

namespace Agent.Tests.Commands.Power;

/// <summary>
/// <c>agent.suspend.probe = qemu</c>: qemu-ga HEAD's guest_suspend (qga/commands-linux.c), case by case.
/// </summary>
public sealed class SuspendQemuProbeSpecs(ITestOutputHelper output) : PowerSpecBase(output)
{
    private const string Qemu = "suspend.probe = qemu";

    [Fact]
    public async Task Systemd_probe_yes_and_execute_ok_suspends_with_systemctl_only()
    {
        Guest.Helper("systemctl", "[ \"$1\" = status ] && exit 3; exit 0");
        Guest.Helper("pm-is-supported", "exit 0");
        await Succeeds(Power(Qemu), "guest-suspend-disk");
        Assert.Equal(["systemctl status systemd-hibernate", "systemctl hibernate"], Guest.Calls());
        Assert.Equal("freeze mem disk\n", Guest.ReadSys("power/state"));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Systemctl_status_1_2_and_3_all_count_as_supported(int status)
    {
        Guest.Helper("systemctl", $"[ \"$1\" = status ] && exit {status}; exit 0");
        await Succeeds(Power(Qemu), "guest-suspend-ram");
        Assert.Equal(["systemctl status systemd-suspend", "systemctl suspend"], Guest.Calls());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(4)]
    public async Task Systemctl_status_0_and_4_count_as_unsupported(int status)
    {
        Guest.Helper("systemctl", $"[ \"$1\" = status ] && exit {status}; exit 0");
        Guest.Sys("power/state", "freeze\n");
        Assert.Equal("the requested suspend mode is not supported by the guest", await Fails(Power(Qemu), "guest-suspend-disk"));
        Assert.Equal([$"systemctl status systemd-hibernate"], Guest.Calls());
    }

    [Fact]
    public async Task An_executor_failure_moves_on_to_pm_utils()
    {
        Guest.Helper("systemctl", "[ \"$1\" = status ] && exit 3; exit 1");
        Guest.Helper("pm-is-supported", "exit 0");
        Guest.Helper("pm-suspend-hybrid", "exit 0");
        await Succeeds(Power(Qemu), "guest-suspend-hybrid");
        Assert.Equal(["systemctl status systemd-hybrid-sleep", "systemctl hybrid-sleep",
            "pm-is-supported --suspend-hybrid", "pm-suspend-hybrid "], Guest.Calls());
    }

    [Fact]
    public async Task With_systemd_and_pm_utils_failing_disk_is_written_to_the_state_file()
    {
        Guest.Helper("systemctl", "[ \"$1\" = status ] && exit 3; exit 1");
        Guest.Helper("pm-is-supported", "exit 0");
        Guest.Helper("pm-hibernate", "exit 2");
        await Succeeds(Power(Qemu), "guest-suspend-disk");
        Assert.Equal("disk", Guest.ReadSys("power/state"));
        Assert.Equal(4, Guest.Calls().Count);
    }

    [Fact]
    public async Task With_no_systemd_and_no_pm_utils_ram_writes_mem()
    {
        await Succeeds(Power(Qemu), "guest-suspend-ram");
        Assert.Equal("mem", Guest.ReadSys("power/state"));
        Assert.Empty(Guest.Calls());
    }

    [Fact]
    public async Task Nothing_supported_gives_the_exact_text()
    {
        Guest.Helper("systemctl", "exit 4");
        Guest.Helper("pm-is-supported", "exit 1");
        Guest.Sys("power/state", "freeze mem\n");
        Assert.Equal("the requested suspend mode is not supported by the guest", await Fails(Power(Qemu), "guest-suspend-disk"));
    }

    [Fact]
    public async Task The_last_strategys_error_wins_when_it_is_the_one_left()
    {
        Guest.Helper("systemctl", "[ \"$1\" = status ] && exit 3; exit 1");
        Guest.Helper("pm-is-supported", "exit 0");
        Guest.Helper("pm-hibernate", "exit 5");
        var power = Power(Qemu + "\nsuspend.strategies = [systemd, pm-utils]");
        Assert.Equal("the helper program 'pm-hibernate' returned an unexpected exit status code (5)",
            await Fails(power, "guest-suspend-disk"));
    }

    [Fact]
    public async Task Hybrid_after_a_systemd_failure_reports_the_sysfs_probes_unknown_mode_as_qemu_does()
    {
        Guest.Helper("systemctl", "[ \"$1\" = status ] && exit 3; exit 1");
        Assert.Equal("unknown guest suspend mode", await Fails(Power(Qemu), "guest-suspend-hybrid"));
    }

    [Fact]
    public async Task Earlier_errors_are_discarded_so_a_failed_execute_with_nothing_after_it_answers_success_as_qemu_does()
    {
        // HEAD quirk: systemd said yes and failed, nothing later said yes, and the last strategy left no error.
        Guest.Helper("systemctl", "[ \"$1\" = status ] && exit 3; exit 1");
        Guest.Sys("power/state", "freeze\n");
        await Succeeds(Power(Qemu), "guest-suspend-disk");
        Assert.Equal("freeze\n", Guest.ReadSys("power/state"));
    }

    [Fact]
    public async Task A_systemctl_verb_failure_as_the_last_strategy_keeps_qemus_text()
    {
        Guest.Helper("systemctl", "[ \"$1\" = status ] && exit 3; exit 1");
        Assert.Equal("the helper program 'systemctl suspend' returned an unexpected exit status code (1)",
            await Fails(Power(Qemu + "\nsuspend.strategies = [systemd]"), "guest-suspend-ram"));
    }

    [Fact]
    public async Task A_pm_is_supported_failure_as_the_last_strategy_is_still_not_supported()
    {
        Guest.Helper("pm-is-supported", "exit 1");
        Assert.Equal("the requested suspend mode is not supported by the guest",
            await Fails(Power(Qemu + "\nsuspend.strategies = [pm-utils]"), "guest-suspend-ram"));
    }

    [Fact]
    public async Task A_sysfs_write_that_returns_only_after_resume_is_never_timed_out()
    {
        // state is a FIFO: the probe's read waits for us to write the offer, and the executor's write
        // waits for us to read it, as the kernel's write returns only after resume.
        var state = Guest.SysPath("power/state");
        File.Delete(state);
        using (var mkfifo = global::System.Diagnostics.Process.Start("mkfifo", [state])) await mkfifo.WaitForExitAsync();
        var power = Power(Qemu + "\nsuspend.strategies = [sysfs]\nsuspend.execute-timeout = 1s");
        power.Tell(new Agent.Actors.Commands.Execute(1, "guest-suspend-ram", Agent.Protocol.Json.JsonObject.Empty), TestActor);

        await Task.Run(() => File.WriteAllText(state, "freeze mem disk\n")).WaitAsync(Patience);

        // The executor is inside open(2) of this FIFO for writing, waiting for a reader: only now does
        // advancing the clock test that no timeout fires while the kernel holds the write.
        await AwaitConditionAsync(() => Task.FromResult(ThreadOpeningForWrite(state)), Patience);
        Clock.Advance(TimeSpan.FromHours(1));
        await ExpectNoMsgAsync(TimeSpan.FromMilliseconds(500));

        var written = await Task.Run(() => File.ReadAllText(state)).WaitAsync(Patience);
        Assert.Equal("mem", written);
        Assert.IsType<Agent.Actors.Commands.CommandSucceeded>(await ExpectMsgAsync<object>(Patience));
    }

    /// <summary>
    /// A thread of this process sleeps in the kernel's fifo_open in openat(<paramref name="path"/>, O_WRONLY):
    /// the syscall's arguments (/proc/self/task/N/syscall) tell it from other specs' FIFOs and from readers.
    /// </summary>
    private static bool ThreadOpeningForWrite(string path) =>
        Directory.GetDirectories("/proc/self/task").Any(task =>
        {
            try
            {
                if (File.ReadAllText(Path.Combine(task, "wchan")) != "wait_for_partner") return false;
                var call = File.ReadAllText(Path.Combine(task, "syscall")).Split(' ');
                const int openat = 257, writeOnly = 1;
                if (call.Length < 4 || call[0] != openat.ToString()) return false;
                var flags = Convert.ToInt64(call[3], 16);
                return (flags & 3) == writeOnly && PathAt(Convert.ToInt64(call[2], 16)) == path;
            }
            catch (IOException) { return false; }
        });

    /// <summary>The NUL-terminated path at <paramref name="address"/> in this process's memory.</summary>
    private static string PathAt(long address)
    {
        using var memory = new FileStream("/proc/self/mem", FileMode.Open, FileAccess.Read);
        memory.Seek(address, SeekOrigin.Begin);
        var bytes = new byte[4096];
        var n = memory.Read(bytes, 0, bytes.Length);
        var end = Array.IndexOf(bytes, (byte)0, 0, n);
        return global::System.Text.Encoding.UTF8.GetString(bytes, 0, end < 0 ? n : end);
    }
}
