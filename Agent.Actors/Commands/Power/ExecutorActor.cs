using Agent.Actors.Settings;
using Agent.Actors.Processes;

namespace Agent.Actors.Commands.Power;

/// <summary>
/// How one strategy's attempt to suspend ended: Error null means the guest suspended (and, for ram,
/// has resumed). Final means no other strategy may be tried (systemd refused, in strict mode).
/// </summary>
public sealed record ExecutionResult(SuspendStrategy Strategy, string? Error, bool Final);

/// <summary>
/// Performs a suspend with one strategy: <c>systemctl &lt;verb&gt;</c>, <c>pm-&lt;x&gt;</c>, or a write to
/// /sys/power/state. Helpers are killed after <c>agent.suspend.execute-timeout</c>; the sysfs write runs
/// on its own thread and is never timed out, since the kernel returns from it only after resume.
/// </summary>
public sealed class ExecutorActor(SuspendStrategy strategy, SuspendMode mode, PowerContext ctx) : HelperRun
{
    private sealed record SysfsWritten(string? Error);

    protected override void OnMessage(object message)
    {
        if (message is SysfsWritten w) Reply(w.Error, final: false);
        else Unhandled(message);
    }

    public static Props Props(SuspendStrategy strategy, SuspendMode mode, PowerContext ctx) =>
        ActorConstructor.Props(() => new ExecutorActor(strategy, mode, ctx));

    private bool Strict => ctx.Power.Probe == ProbeMode.Strict;

    /// <summary>The helper as qemu-ga names it in its errors.</summary>
    private string HelperName => strategy == SuspendStrategy.Systemd ? $"systemctl {mode.SystemctlVerb()}" : mode.PmProgram();

    protected override void PreStart()
    {
        if (Strict && mode is SuspendMode.Ram or SuspendMode.Hybrid && SelectRealSleep() is { } error)
        {
            Reply(error, final: false);
            return;
        }
        if (strategy == SuspendStrategy.Sysfs)
        {
            var kernel = ctx.Kernel;
            var target = mode;
            var strict = Strict;
            Task.Factory.StartNew(() => WriteSysfs(kernel, target, strict), TaskCreationOptions.LongRunning)
                .PipeTo(Self, success: e => new SysfsWritten(e), failure: ex => new SysfsWritten(ex.Message));
            return;
        }
        var program = strategy == SuspendStrategy.Systemd ? "systemctl" : mode.PmProgram();
        var path = ctx.Helpers.Find(program);
        if (path is null)
        {
            Reply($"the helper program '{HelperName}' was not found", final: false);
            return;
        }
        var args = strategy == SuspendStrategy.Systemd ? new[] { mode.SystemctlVerb() } : [];
        // In strict mode keep what systemd says when it refuses (e.g. "Not enough swap space for hibernation").
        Start(new SpawnSpec(path, args,
            Stdout: Strict ? OutputMode.Capture : OutputMode.Discard,
            Stderr: Strict ? OutputMode.MergeIntoStdout : OutputMode.Discard,
            OutputLimit: ctx.Processes.HelperOutputLimit,
            Timeout: ctx.Power.ExecuteTimeout), ctx.Reaper);
    }

    protected override void OnOutcome(HelperOutcome outcome)
    {
        switch (outcome)
        {
            case HelperOutcome.Finished { Child: { ExitCode: 0, TimedOut: false } }:
                Reply(null, final: false);
                break;
            case HelperOutcome.Finished { Child.TimedOut: true }:
                Reply($"the helper program '{HelperName}' did not finish within {ctx.Power.ExecuteTimeout.TotalSeconds:0.###}s and was killed", final: false);
                break;
            case HelperOutcome.Finished { Child.Signal: { } signal }:
                Reply($"the helper program '{HelperName}' was killed by signal {signal}", final: false);
                break;
            case HelperOutcome.Finished f:
                var said = Strict ? OutputText(f.Child) : "";
                Reply($"the helper program '{HelperName}' returned an unexpected exit status code ({f.Child.ExitCode})" +
                      (said.Length > 0 ? $": {said}" : ""),
                    // systemd refusing is final: no raw sysfs write behind its back (README, "Suspend, shutdown and helper processes").
                    final: Strict && strategy == SuspendStrategy.Systemd);
                break;
            case HelperOutcome.NotStarted { Errno: Platform.Native.ENOENT }:
                Reply($"the helper program '{HelperName}' was not found", final: false);
                break;
            case HelperOutcome.NotStarted n:
                Reply($"failed to create child process, error '{n.Message}'", final: false);
                break;
            case HelperOutcome.Broken b:
                Reply($"the helper program '{HelperName}' failed: {b.Reason}", final: false);
                break;
        }
    }

    /// <summary>
    /// "mem" means whatever mem_sleep selects; if that is s2idle while deep (or shallow) is offered,
    /// select the real one first, or QEMU never sees the guest suspend.
    /// </summary>
    private string? SelectRealSleep()
    {
        var kernel = ctx.Kernel;
        if (!File.Exists(kernel.MemSleepPath) || kernel.Selected(kernel.MemSleepPath) is "deep" or "shallow") return null;
        var offered = kernel.Offered(kernel.MemSleepPath);
        var real = offered.Contains("deep") ? "deep" : offered.Contains("shallow") ? "shallow" : null;
        return real is null ? null : KernelPower.Write(kernel.MemSleepPath, real);
    }

    private static string? WriteSysfs(KernelPower kernel, SuspendMode mode, bool strict)
    {
        if (mode.SysfsState() is { } word) return KernelPower.Write(kernel.StatePath, word);
        if (!strict) return "unknown guest suspend mode";
        // Hybrid: write the image, then suspend to RAM instead of powering off; restore the old mode after resume.
        var previous = kernel.Selected(kernel.DiskPath);
        if (KernelPower.Write(kernel.DiskPath, "suspend") is { } error) return error;
        var result = KernelPower.Write(kernel.StatePath, "disk");
        if (previous is not null && previous != "suspend") KernelPower.Write(kernel.DiskPath, previous);
        return result;
    }

    private void Reply(string? error, bool final)
    {
        Context.Parent.Tell(new ExecutionResult(strategy, error, final));
        Context.Stop(Self);
    }
}
