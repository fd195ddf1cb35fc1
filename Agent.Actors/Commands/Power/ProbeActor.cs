using Agent.Actors.Settings;
using Agent.Actors.Processes;

namespace Agent.Actors.Commands.Power;

/// <summary>
/// Answers "does <see cref="SuspendStrategy"/> support this mode?" once, to its parent, then stops.
/// <paramref name="Error"/> is the error qemu-ga's probe would leave behind (it matters when this is
/// the last strategy); <paramref name="Reason"/> says in words why not.
/// </summary>
public sealed record ProbeResult(SuspendStrategy Strategy, bool Supported, string? Error, string? Reason);

/// <summary>
/// One strategy's support probe: <c>systemctl status systemd-&lt;x&gt;</c>, <c>pm-is-supported --&lt;x&gt;</c>,
/// or reading /sys/power/state. A helper that hangs past <c>agent.suspend.probe-timeout</c> is killed
/// with its process group; a helper that dies on a signal is "not supported" with that as the reason.
/// </summary>
public sealed class ProbeActor(SuspendStrategy strategy, SuspendMode mode, PowerContext ctx) : HelperRun
{
    public static Props Props(SuspendStrategy strategy, SuspendMode mode, PowerContext ctx) =>
        ActorConstructor.Props(() => new ProbeActor(strategy, mode, ctx));

    private bool Strict => ctx.Power.Probe == ProbeMode.Strict;

    private string Program => strategy == SuspendStrategy.Systemd ? "systemctl" : "pm-is-supported";

    private string CommandLine => strategy == SuspendStrategy.Systemd
        ? $"systemctl status {mode.SystemdUnit()}"
        : $"pm-is-supported {mode.PmIsSupportedFlag()}";

    protected override void PreStart()
    {
        if (strategy == SuspendStrategy.Sysfs)
        {
            Reply(ProbeSysfs());
            return;
        }
        var path = ctx.Helpers.Find(Program);
        if (path is null)
        {
            Reply(new ProbeResult(strategy, false, null, $"{Program} not found"));
            return;
        }
        var args = strategy == SuspendStrategy.Systemd
            ? new[] { "status", mode.SystemdUnit() }
            : new[] { mode.PmIsSupportedFlag() };
        Start(new SpawnSpec(path, args, Timeout: ctx.Power.ProbeTimeout), ctx.Reaper);
    }

    protected override void OnOutcome(HelperOutcome outcome) => Reply(outcome switch
    {
        HelperOutcome.NotStarted { Errno: Platform.Native.ENOENT } =>
            new ProbeResult(strategy, false, null, $"{Program} not found"),
        HelperOutcome.NotStarted n => new ProbeResult(strategy, false,
            $"failed to create child process, error '{n.Message}'", $"{CommandLine} could not be started: {n.Message}"),
        HelperOutcome.Broken b => Unsupported($"{CommandLine}: {b.Reason}"),
        HelperOutcome.Finished { Child.TimedOut: true } =>
            Unsupported($"{CommandLine} did not finish within {ctx.Power.ProbeTimeout.TotalSeconds:0.###}s and was killed"),
        HelperOutcome.Finished { Child.Signal: { } signal } =>
            Unsupported($"{CommandLine} was killed by signal {signal}"),
        HelperOutcome.Finished f => FromExitCode(f.Child.ExitCode!.Value),
        _ => throw new InvalidOperationException(outcome.ToString()),
    });

    private ProbeResult FromExitCode(int code)
    {
        if (strategy == SuspendStrategy.Systemd)
        {
            // LSB codes: 3 = unit exists and is inactive (the normal case), 4 = no such unit, 0 = active.
            // qemu-ga also takes 1 and 2, which is what systemctl says on a host not booted with systemd.
            var supported = Strict ? code == 3 : code is > 0 and < 4;
            return new ProbeResult(strategy, supported, null,
                supported ? null : $"{CommandLine} exited with status {code}");
        }
        return code == 0
            ? new ProbeResult(strategy, true, null, null)
            : new ProbeResult(strategy, false,
                $"the helper program 'pm-is-supported' returned an unexpected exit status code ({code})",
                $"{CommandLine} exited with status {code}");
    }

    /// <summary>
    /// A hung, killed or lost probe. qemu-ga has no such case (it waits forever, and reads a signal
    /// death as exit status 0); here it is always "not supported", with no qemu error to leave behind.
    /// </summary>
    private ProbeResult Unsupported(string reason) => new(strategy, false, null, reason);

    private ProbeResult ProbeSysfs()
    {
        if (!Strict)
        {
            if (mode.SysfsState() is not { } word)
                return new ProbeResult(strategy, false, "unknown guest suspend mode", "hybrid needs /sys/power/disk, which qemu-ga does not use");
            return ctx.Kernel.StateContainsQemuStyle(word)
                ? new ProbeResult(strategy, true, null, null)
                : new ProbeResult(strategy, false, null, $"/sys/power/state does not offer {word}");
        }
        var offered = ctx.Kernel.Offered(ctx.Kernel.StatePath);
        if (!offered.Contains(mode == SuspendMode.Ram ? "mem" : "disk"))
            return new ProbeResult(strategy, false, null, $"/sys/power/state does not offer {(mode == SuspendMode.Ram ? "mem" : "disk")}");
        if (mode == SuspendMode.Hybrid && !ctx.Kernel.Offered(ctx.Kernel.DiskPath).Contains("suspend"))
            return new ProbeResult(strategy, false, null, "/sys/power/disk does not offer suspend");
        return new ProbeResult(strategy, true, null, null);
    }

    private void Reply(ProbeResult result)
    {
        Context.Parent.Tell(result);
        Context.Stop(Self);
    }
}
