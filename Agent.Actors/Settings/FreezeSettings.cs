using Akka.Configuration;

namespace Agent.Actors.Settings;

/// <summary><c>agent.fsfreeze</c>.</summary>
/// <param name="Hook">The fsfreeze hook (qemu-ga's -F); null when none is configured.</param>
/// <param name="AutoThaw">Thaw by ourselves after this long frozen; zero: never (qemu-ga's behaviour).</param>
public sealed record FreezeSettings(string? Hook, TimeSpan HookTimeout, TimeSpan AutoThaw)
{
    /// <summary>The hook -F enables when given no path (qemu-ga's default).</summary>
    public const string DefaultHook = "/etc/qemu/fsfreeze-hook";

    public static FreezeSettings Create(Config c)
    {
        var hook = c.GetString("hook");
        return new FreezeSettings(string.IsNullOrEmpty(hook) ? null : hook, c.GetTimeSpan("hook-timeout"), c.GetTimeSpan("auto-thaw"));
    }
}
