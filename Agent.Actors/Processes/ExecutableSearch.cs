using System.Runtime.InteropServices;
using Agent.Actors.Platform;

namespace Agent.Actors.Processes;

/// <summary>
/// execvp's PATH search for a guest-exec whose <c>env</c> replaces the environment: qemu-ga (glib,
/// search path from envp) looks the program up in that environment's PATH, which posix_spawnp
/// cannot do (it reads the agent's own PATH).
/// </summary>
internal static class ExecutableSearch
{
    /// <summary>Used when neither the given environment nor the agent has a PATH.</summary>
    private const string DefaultPath = "/bin:/usr/bin";

    /// <summary>The PATH to search: the first PATH= in <paramref name="environment"/>, else the agent's.</summary>
    public static string SearchPath(IReadOnlyList<string> environment) =>
        environment.FirstOrDefault(e => e.StartsWith("PATH=", StringComparison.Ordinal))?[5..]
        ?? Environment.GetEnvironmentVariable("PATH")
        ?? DefaultPath;

    /// <summary>
    /// The first executable file named <paramref name="name"/> in <paramref name="searchPath"/>, or null
    /// with the errno execvp would report: EACCES if some candidate existed but could not be run, else ENOENT.
    /// </summary>
    public static string? Find(string name, string searchPath, out int errno)
    {
        errno = Native.ENOENT;
        if (name.Length == 0) return null;
        foreach (var dir in searchPath.Split(':'))
        {
            var candidate = Path.Combine(dir.Length == 0 ? "." : dir, name);
            if (!File.Exists(candidate)) continue;
            if (Native.Access(candidate, Native.X_OK) == 0) return candidate;
            if (Marshal.GetLastPInvokeError() == Native.EACCES) errno = Native.EACCES;
        }
        return null;
    }
}
