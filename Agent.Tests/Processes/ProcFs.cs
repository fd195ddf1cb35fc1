namespace Agent.Tests.Processes;

/// <summary>What the real /proc says about this test process and its children.</summary>
public static class ProcFs
{
    /// <summary>Pids of our children in state Z (exited, not yet reaped).</summary>
    public static IReadOnlyList<int> ZombieChildren()
    {
        var me = Environment.ProcessId;
        var zombies = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
            var stat = Stat(pid);
            if (stat is { State: 'Z' } s && s.ParentPid == me) zombies.Add(pid);
        }
        return zombies;
    }

    /// <summary>
    /// Zombies that were not there in <paramref name="before"/>: a burst test answers for the children
    /// it made, not for one another test in this process left behind.
    /// </summary>
    public static IReadOnlyList<int> NewZombieChildren(IReadOnlyCollection<int> before) =>
        ZombieChildren().Except(before).ToArray();

    /// <summary>State letter and parent of a process, or null when it no longer exists.</summary>
    public static (char State, int ParentPid)? Stat(int pid)
    {
        string text;
        try { text = File.ReadAllText($"/proc/{pid}/stat"); }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
        // "pid (comm) S ppid ..." — comm may contain spaces and parentheses, so parse after the last ')'.
        var fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
        return (fields[0][0], int.Parse(fields[1]));
    }

    /// <summary>True while the process exists and has not exited (a zombie has exited).</summary>
    public static bool IsAlive(int pid) => Stat(pid) is { } s && s.State != 'Z' && s.State != 'X';

    public static int OpenFdCount() => Directory.GetFiles("/proc/self/fd").Length;

    /// <summary>What each of our open fds refers to ("pipe:[123]", "/dev/null", "socket:[456]"...).</summary>
    public static IReadOnlySet<string> OpenFdTargets()
    {
        var targets = new HashSet<string>();
        foreach (var fd in Directory.GetFiles("/proc/self/fd"))
        {
            try { targets.Add(new FileInfo(fd).LinkTarget ?? ""); }
            catch (IOException) { } // closed while we looked
        }
        return targets;
    }

    /// <summary>
    /// Pipes open now that were not open at <paramref name="before"/>: every fd the process machinery
    /// creates is a pipe, and each pipe has its own inode, so a leak shows here whatever other tests
    /// (which may close their own fds late, from finalizers) do to the plain count.
    /// </summary>
    public static IReadOnlyList<string> NewPipes(IReadOnlySet<string> before) =>
        OpenFdTargets().Where(t => t.StartsWith("pipe:", StringComparison.Ordinal) && !before.Contains(t)).ToArray();
}
