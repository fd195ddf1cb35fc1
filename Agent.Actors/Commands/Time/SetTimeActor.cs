using Agent.Actors.Platform;
using Agent.Actors.Processes;
using Agent.Actors.Settings;

namespace Agent.Actors.Commands.Time;

/// <summary>
/// guest-set-time with qemu-ga HEAD semantics (qga/commands-posix.c, qmp_guest_set_time): with a time, check it, settimeofday, then
/// <c>hwclock -w</c> (RTC from system time); without, <c>hwclock -s</c> (system time from the RTC).
/// hwclock is found on <c>agent.helpers.path</c> and run through the helper runner.
/// </summary>
public sealed class SetTimeActor(HelperSettings helpers, ProcessSettings processes, ISystemTimeSetter clock, IActorRef reaper)
    : HelperCommandOwner(reaper)
{
    public static readonly CommandFamily Family = CommandFamily.Of<GuestSetTimeArguments>("set-time", ctx => Props(ctx.Settings.Helpers, ctx.Settings.Processes, LinuxSystemTimeSetter.Instance, ctx.Reaper));

    public static Props Props(HelperSettings helpers, ProcessSettings processes, ISystemTimeSetter clock, IActorRef reaper) =>
        ActorConstructor.Props(() => new SetTimeActor(helpers, processes, clock, reaper));

    protected override void PreStart() => HandleLater<GuestSetTimeArguments>(SetTime);

    private void SetTime(Execute e, GuestSetTimeArguments a)
    {
        var time = a.Time;
        if (time is { } ns)
        {
            // C's truncating division and remainder, as qemu-ga computes the timeval.
            var seconds = ns / 1_000_000_000;
            var microseconds = ns % 1_000_000_000 / 1000;
            var year = DateTimeOffset.FromUnixTimeSeconds(seconds).ToLocalTime().Year;
            if (year is < 1970 or >= 2070) throw new CommandException("Invalid time");
            if (clock.SetTimeOfDay(seconds, microseconds) is var errno and not 0)
                throw new CommandException($"Failed to set time to guest: {Native.StrError(errno)}");
        }
        RunHelper(e, new HelperCommand.Spec(helpers.Find("hwclock") ?? "hwclock", [time is null ? "-s" : "-w"], null,
            "set hardware clock to system time", helpers.Timeout, processes.HelperOutputLimit));
    }
}
