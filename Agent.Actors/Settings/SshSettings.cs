using Akka.Configuration;

namespace Agent.Actors.Settings;

/// <summary><c>agent.ssh</c>.</summary>
/// <param name="KeyFileLimit">The largest ~/.ssh/authorized_keys read; a bigger one is refused.</param>
public sealed record SshSettings(int KeyFileLimit)
{
    public static SshSettings Create(Config c) => new(checked((int)(c.GetByteSize("key-file-limit") ?? 1024 * 1024)));
}
