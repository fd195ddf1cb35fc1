using Agent.Actors.Platform;
using Agent.Actors.Processes;

namespace Agent.Host;

/// <summary>
/// qemu-ga's -d without fork(): forking a multithreaded .NET process is unsafe, so the agent starts
/// a copy of itself in a new session with stdio on /dev/null and cwd "/", marked by an environment
/// variable, and the original exits 0 — what the caller of a daemon observes is the same.
/// </summary>
public static class Daemon
{
    public const string ChildMarker = "ACTORAGENT_DAEMONIZED";

    public static bool IsDetachedChild => Environment.GetEnvironmentVariable(ChildMarker) == "1";

    /// <summary>In the detached copy: files it creates are private, as qemu-ga's umask 077 makes them.</summary>
    public static void EnterDetachedChild() => Native.Umask(0x3F);

    /// <summary>Starts the detached copy; returns 0 or the errno of the failed spawn.</summary>
    public static int Detach(string executable, IReadOnlyList<string> arguments)
    {
        var environment = Environment.GetEnvironmentVariables().Keys.Cast<string>()
            .Where(k => k != ChildMarker)
            .Select(k => $"{k}={Environment.GetEnvironmentVariable(k)}")
            .Append($"{ChildMarker}=1")
            .ToArray();
        var spec = new SpawnSpec(executable, arguments, environment, WorkingDirectory: "/", NewSession: true);
        var errno = Spawner.TrySpawn(spec, out var spawned);
        // The child is deliberately not reaped: the original exits at once and init adopts it.
        return spawned is null ? errno : 0;
    }
}
