namespace Agent.Actors.Processes;

/// <summary>What happens to a child's stdout or stderr.</summary>
public enum OutputMode
{
    /// <summary>Connected to /dev/null.</summary>
    Discard,
    /// <summary>Read into memory up to the spec's limit; the rest is read and dropped.</summary>
    Capture,
    /// <summary>stderr only: the child's fd 2 is a copy of its fd 1, so both streams interleave as written.</summary>
    MergeIntoStdout,
}

/// <summary>
/// How to start one child. The child always gets its own process group (a new session by default),
/// so a timeout or the owner's death kills the whole tree with one kill(-pgid).
/// </summary>
/// <param name="Program">A path, or a bare name looked up on the agent's PATH (posix_spawnp).</param>
/// <param name="Arguments">argv[1..]; argv[0] is <paramref name="Program"/>.</param>
/// <param name="Environment">"NAME=value" entries replacing the environment; null inherits the agent's.</param>
/// <param name="Input">Bytes written to stdin as the pipe drains, then EOF; null connects stdin to /dev/null.</param>
/// <param name="OutputLimit">Bytes kept per captured stream.</param>
/// <param name="Timeout">When it passes, the process group is killed with SIGKILL; null waits forever.</param>
public sealed record SpawnSpec(
    string Program,
    IReadOnlyList<string> Arguments,
    IReadOnlyList<string>? Environment = null,
    string? WorkingDirectory = null,
    byte[]? Input = null,
    OutputMode Stdout = OutputMode.Discard,
    OutputMode Stderr = OutputMode.Discard,
    int OutputLimit = 16 * 1024 * 1024,
    TimeSpan? Timeout = null,
    bool NewSession = true)
{
    /// <summary>The command line as a person would type it, for logs and error texts.</summary>
    public string CommandLine => string.Join(' ', new[] { Program }.Concat(Arguments));
}
