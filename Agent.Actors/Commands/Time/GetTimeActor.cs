using Agent.Actors.Platform;

namespace Agent.Actors.Commands.Time;

/// <summary>guest-get-time: the guest's wall clock (qga/commands.c, qmp_guest_get_time).</summary>
public sealed class GetTimeActor : CommandActor
{
    public static readonly CommandFamily Family = CommandFamily.Of<GuestGetTimeArguments>("get-time", _ => Props(SystemClock.Instance));

    public static Props Props(IClock clock) => ActorConstructor.Props(() => new GetTimeActor(clock));

    public GetTimeActor(IClock clock)
    {
        // g_get_real_time() is in microseconds; the reply is in nanoseconds.
        Handle<GuestGetTimeArguments>(_ => new JsonInt(clock.UnixMicroseconds() * 1000));
    }
}
