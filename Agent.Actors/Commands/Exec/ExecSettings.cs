using Akka.Configuration;

namespace Agent.Actors.Commands.Exec;

/// <summary><c>agent.exec</c>: limits of guest-exec.</summary>
/// <param name="OutputLimit">Bytes kept per captured stream (qemu-ga's GUEST_EXEC_MAX_OUTPUT).</param>
/// <param name="StatusRetention">How long a result started with keep-result stays after the process ended.</param>
public sealed record ExecSettings(int OutputLimit, TimeSpan StatusRetention)
{
    public static ExecSettings Create(Config c) => new(
        checked((int)(c.GetByteSize("output-limit") ?? 16 * 1024 * 1024)),
        c.GetTimeSpan("status-retention"));
}
