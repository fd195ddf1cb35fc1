using Agent.Actors.Commands;
using Agent.Protocol.Json;
using Agent.Tests.Processes;
using Akka.Actor;
using Xunit.Abstractions;

namespace Agent.Tests.Commands.Power;

/// <summary>The default honest probe (<c>probe = strict</c>): every refusal with its reason, systemd final, hybrid via sysfs.</summary>
public sealed class SuspendStrictProbeSpecs(ITestOutputHelper output) : PowerSpecBase(output)
{
    private const string NotSupported = "the requested suspend mode is not supported by the guest: ";

    [Fact]
    public async Task Ram_is_refused_when_mem_sleep_offers_only_s2idle()
    {
        Guest.Helper("systemctl", "[ \"$1\" = status ] && exit 3; exit 0");
        Guest.Sys("power/mem_sleep", "[s2idle]\n");
        Assert.Equal(NotSupported + "mem_sleep offers only s2idle", await Fails(Power(), "guest-suspend-ram"));
        Assert.Empty(Guest.Calls());
    }

    [Fact]
    public async Task Hybrid_is_refused_when_mem_sleep_offers_only_s2idle()
    {
        Guest.Sys("power/mem_sleep", "[s2idle]\n");
        Assert.Equal(NotSupported + "mem_sleep offers only s2idle", await Fails(Power(), "guest-suspend-hybrid"));
    }

    [Theory]
    [InlineData("guest-suspend-disk", "power/state", "freeze mem\n", "/sys/power/state does not offer disk")]
    [InlineData("guest-suspend-ram", "power/state", "freeze disk\n", "/sys/power/state does not offer mem")]
    [InlineData("guest-suspend-hybrid", "power/disk", "[platform] shutdown reboot\n", "/sys/power/disk does not offer suspend")]
    [InlineData("guest-suspend-disk", "kernel/security/lockdown", "none [integrity] confidentiality\n", "kernel lockdown (integrity) forbids hibernation")]
    [InlineData("guest-suspend-hybrid", "kernel/security/lockdown", "none integrity [confidentiality]\n", "kernel lockdown (confidentiality) forbids hibernation")]
    [InlineData("guest-suspend-disk", "power/resume", "0:0\n", "no resume device is configured (/sys/power/resume is 0:0)")]
    public async Task Each_kernel_refusal_comes_with_its_reason(string command, string file, string content, string reason)
    {
        Guest.Helper("systemctl", "[ \"$1\" = status ] && exit 3; exit 0");
        Guest.Sys(file, content);
        Assert.Equal(NotSupported + reason, await Fails(Power(), command));
        Assert.Empty(Guest.Calls());
    }

    [Fact]
    public async Task Disk_is_refused_without_swap_and_with_too_little_swap()
    {
        var power = Power();
        Guest.Proc("swaps", "Filename\tType\tSize\tUsed\tPriority\n/dev/zram0 partition 8000000 0 100\n");
        Assert.Equal(NotSupported + "no swap space for the hibernation image", await Fails(power, "guest-suspend-disk"));

        Guest.Proc("swaps", "Filename\tType\tSize\tUsed\tPriority\n/dev/vda2 partition 700000 200000 -2\n");
        Assert.Equal(NotSupported + "not enough swap space for hibernation (500000 KiB free, Active(anon) is 600000 KiB)",
            await Fails(power, "guest-suspend-disk"));
    }

    [Fact]
    public async Task Disk_is_refused_with_noresume_on_the_kernel_command_line()
    {
        Guest.Proc("cmdline", "BOOT_IMAGE=/vmlinuz root=/dev/vda1 noresume\n");
        Assert.Equal(NotSupported + "the kernel command line has noresume", await Fails(Power(), "guest-suspend-disk"));
    }

    [Fact]
    public async Task When_systemd_refuses_that_is_final_and_its_message_is_the_reason()
    {
        Guest.Helper("systemctl", "[ \"$1\" = status ] && exit 3\necho 'Failed to hibernate system via logind: Not enough swap space for hibernation' >&2\nexit 1");
        Guest.Helper("pm-is-supported", "exit 0");
        Guest.Helper("pm-hibernate", "exit 0");
        Assert.Equal("the helper program 'systemctl hibernate' returned an unexpected exit status code (1): " +
                     "Failed to hibernate system via logind: Not enough swap space for hibernation",
            await Fails(Power(), "guest-suspend-disk"));
        Assert.Equal(["systemctl status systemd-hibernate", "systemctl hibernate"], Guest.Calls());
        Assert.Equal("freeze mem disk\n", Guest.ReadSys("power/state"));
    }

    [Fact]
    public async Task A_systemctl_that_says_systemd_is_not_running_is_passed_over_for_sysfs()
    {
        Guest.Helper("systemctl", "echo 'System has not been booted with systemd as init system (PID 1). Can'\\''t operate.' >&2; exit 1");
        await Succeeds(Power(), "guest-suspend-disk");
        Assert.Equal(["systemctl status systemd-hibernate"], Guest.Calls());
        Assert.Equal("disk", Guest.ReadSys("power/state"));
    }

    [Fact]
    public async Task Nothing_supported_lists_each_strategys_reason()
    {
        Guest.Helper("systemctl", "exit 4");
        Guest.Helper("pm-is-supported", "exit 1");
        Assert.Equal(NotSupported + "systemd: systemctl status systemd-suspend exited with status 4; " +
                     "pm-utils: pm-is-supported --suspend exited with status 1",
            await Fails(Power("suspend.strategies = [systemd, pm-utils]"), "guest-suspend-ram"));
    }

    [Fact]
    public async Task Ram_via_sysfs_selects_deep_sleep_first_when_s2idle_is_selected()
    {
        Guest.Sys("power/mem_sleep", "[s2idle] deep\n");
        await Succeeds(Power(), "guest-suspend-ram");
        Assert.Equal("deep", Guest.ReadSys("power/mem_sleep"));
        Assert.Equal("mem", Guest.ReadSys("power/state"));
    }

    [Fact]
    public async Task Hybrid_via_sysfs_writes_suspend_into_disk_then_disk_into_state()
    {
        Guest.Sys("power/disk", "platform shutdown reboot suspend\n"); // nothing selected: nothing to restore
        await Succeeds(Power(), "guest-suspend-hybrid");
        Assert.Equal("suspend", Guest.ReadSys("power/disk"));
        Assert.Equal("disk", Guest.ReadSys("power/state"));
    }

    [Fact]
    public async Task Hybrid_via_sysfs_restores_the_previous_disk_mode_after_resume()
    {
        await Succeeds(Power(), "guest-suspend-hybrid");
        Assert.Equal("platform", Guest.ReadSys("power/disk"));
        Assert.Equal("disk", Guest.ReadSys("power/state"));
    }

    [Fact]
    public async Task A_probe_that_hangs_is_killed_at_the_probe_timeout_with_its_process_group()
    {
        var grandchildFile = Path.Combine(Guest.Root, "grandchild");
        Guest.Helper("systemctl", $"sleep 100 & echo $! > '{grandchildFile}'; sleep 100");
        var power = Power("suspend.probe-timeout = 7s");
        power.Tell(new Execute(1, "guest-suspend-disk", JsonObject.Empty));
        await HelperStarted("systemctl status systemd-hibernate");
        await AwaitConditionAsync(() => Task.FromResult(File.Exists(grandchildFile) && File.ReadAllText(grandchildFile).Trim().Length > 0), Patience);
        var grandchild = int.Parse(File.ReadAllText(grandchildFile).Trim());

        Clock.Advance(TimeSpan.FromSeconds(6));
        await ExpectNoMsgAsync(TimeSpan.FromMilliseconds(300));
        Assert.True(ProcFs.IsAlive(grandchild));

        Clock.Advance(TimeSpan.FromSeconds(1));
        // The probe failed with a reason; sysfs then did the job.
        Assert.IsType<CommandSucceeded>(await ExpectMsgAsync<object>(Patience));
        Assert.Equal("disk", Guest.ReadSys("power/state"));
        await AwaitAssertAsync(() => Assert.False(ProcFs.IsAlive(grandchild)), Patience);
    }

    [Fact]
    public async Task A_hung_probe_as_the_only_strategy_gives_its_reason()
    {
        Guest.Helper("pm-is-supported", "sleep 100");
        var power = Power("suspend.strategies = [pm-utils]");
        power.Tell(new Execute(1, "guest-suspend-ram", JsonObject.Empty));
        await HelperStarted("pm-is-supported --suspend");
        Clock.Advance(TimeSpan.FromSeconds(10));
        var failed = Assert.IsType<CommandFailed>(await ExpectMsgAsync<object>(Patience));
        Assert.Equal(NotSupported + "pm-utils: pm-is-supported --suspend did not finish within 10s and was killed", failed.Error.Desc);
    }

    [Fact]
    public async Task A_probe_killed_by_a_signal_is_a_failed_probe_with_that_reason()
    {
        Guest.Helper("systemctl", "kill -SEGV $$");
        Assert.Equal(NotSupported + "systemd: systemctl status systemd-suspend was killed by signal 11; " +
                     "pm-utils: pm-is-supported not found",
            await Fails(Power("suspend.strategies = [systemd, pm-utils]"), "guest-suspend-ram"));
    }

    [Fact]
    public async Task An_executor_that_hangs_is_killed_at_the_execute_timeout_and_the_next_strategy_runs()
    {
        Guest.Helper("systemctl", "[ \"$1\" = status ] && exit 3; sleep 100");
        var power = Power("suspend.execute-timeout = 30s");
        power.Tell(new Execute(1, "guest-suspend-ram", JsonObject.Empty));
        await HelperStarted("systemctl suspend");
        Clock.Advance(TimeSpan.FromSeconds(30));
        Assert.IsType<CommandSucceeded>(await ExpectMsgAsync<object>(Patience));
        Assert.Equal("mem", Guest.ReadSys("power/state"));
    }

    [Fact]
    public async Task An_executor_that_crashes_moves_on_and_the_last_real_failure_is_reported()
    {
        Guest.Helper("pm-is-supported", "exit 0");
        Guest.Helper("pm-hibernate", "kill -ABRT $$");
        Guest.Sys("power/state", "freeze mem disk\n");
        var power = Power("suspend.strategies = [systemd, pm-utils]");
        Assert.Equal("the helper program 'pm-hibernate' was killed by signal 6", await Fails(power, "guest-suspend-disk"));
    }
}
