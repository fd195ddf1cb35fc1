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
}
