using Akka.Configuration;

namespace Agent.Actors.Settings;

/// <summary><c>agent.exec</c>: limits of guest-exec.</summary>
/// <param name="OutputLimit">Bytes kept per captured stream (qemu-ga's GUEST_EXEC_MAX_OUTPUT).</param>
/// <param name="StatusRetention">How long a keep-result result stays once the host has read all of it.</param>
/// <param name="MaxRunning">Processes started and not yet finished; a guest-exec beyond it is refused.</param>
/// <param name="MaxResults">Finished results held for the host; a guest-exec beyond it is refused.</param>
/// <param name="MaxResultBytes">Captured bytes of the held results; a guest-exec beyond it is refused.</param>
/// <param name="UnreadExpiry">A result not yet read in full is dropped this long after the process ended or the host last read from it.</param>
public sealed record ExecSettings(
    int OutputLimit,
    TimeSpan StatusRetention,
    int MaxRunning,
    int MaxResults,
    long MaxResultBytes,
    TimeSpan UnreadExpiry)
{
    private const string Section = "agent.exec";

    public static ExecSettings Create(Config c) => new(
        checked((int)(c.GetByteSize("output-limit") ?? 16 * 1024 * 1024)),
        c.GetTimeSpan("status-retention"),
        Limits.Count(c, Section, "max-running"),
        Limits.Count(c, Section, "max-results"),
        Limits.Bytes(c, Section, "max-result-bytes"),
        Limits.Duration(c, Section, "unread-expiry"));
}
