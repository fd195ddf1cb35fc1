using Agent.Actors.Processes;

namespace Agent.Actors.Commands.Power;

/// <summary>
/// guest-shutdown with qemu-ga HEAD (≥ 10.2) semantics: run poweroff, halt or reboot when the helper
/// path has it, else <c>shutdown -h -P|-H|-r +0 "hypervisor initiated shutdown"</c>, through the helper
/// runner's rules (qga/commands-posix.c, ga_run_command: stdout and stderr merged into the error text). Success answers
/// CommandSucceeded and the dispatcher sends nothing: the host learns from the VM going down.
/// A helper killed by SIGTERM has its error held for <c>agent.shutdown.terminated-grace</c>: that is
/// how the guest's own shutdown ends the helper when it stops the agent's unit, and the agent's
/// SIGTERM then ends the agent before a false failure reaches the host.
/// </summary>
public sealed class ShutdownActor(PowerContext ctx) : HelperCommandOwner(ctx.Reaper), IWithTimers
{
    private sealed record TerminatedGraceEnded(IActorRef Helper, HelperCommand.Finished Outcome);

    public ITimerScheduler Timers { get; set; } = null!;

    public const string InvalidMode = "mode is invalid (valid values are: halt|powerdown|reboot";

    public static Props Props(PowerContext ctx) => ActorConstructor.Props(() => new ShutdownActor(ctx));

    protected override void PreStart() => HandleLater<GuestShutdownArguments>(Shutdown);

    protected override void OnMessage(object message)
    {
        switch (message)
        {
            case HelperCommand.Finished { Signal: Platform.Native.SIGTERM } f:
                Timers.StartSingleTimer(Sender, new TerminatedGraceEnded(Sender, f), ctx.Power.ShutdownTerminatedGrace);
                return;
            case TerminatedGraceEnded g:
                Complete(g.Helper, g.Outcome);
                return;
            default:
                base.OnMessage(message);
                return;
        }
    }

    private void Shutdown(Execute e, GuestShutdownArguments a)
    {
        var (program, flag) = a.Mode switch
        {
            null or "powerdown" => ("poweroff", "-P"),
            "halt" => ("halt", "-H"),
            "reboot" => ("reboot", "-r"),
            _ => throw new CommandException(InvalidMode),
        };
        // Not found anywhere: "shutdown" stays a bare name and fails as qemu-ga's exec of /sbin/shutdown would.
        var (path, args) = ctx.Helpers.Find(program) is { } direct
            ? (direct, Array.Empty<string>())
            : (ctx.Helpers.Find("shutdown") ?? "shutdown", ["-h", flag, "+0", "hypervisor initiated shutdown"]);
        RunHelper(e, new HelperCommand.Spec(path, args, null, "shutdown", ctx.Power.ShutdownTimeout, ctx.Processes.HelperOutputLimit));
    }
}
