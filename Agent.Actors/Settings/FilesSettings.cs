using Akka.Configuration;

namespace Agent.Actors.Settings;

/// <summary><c>agent.files</c>: limits of guest-file-*.</summary>
/// <param name="MaxOpenHandles">Handles open at once, counted over all connections (qemu-ga has no cap).</param>
public sealed record FilesSettings(int MaxOpenHandles)
{
    public static FilesSettings Create(Config c) => new(Limits.Count(c, "agent.files", "max-open-handles"));
}
