namespace Agent.Actors.Policy;

/// <summary>
/// realpath(3) in managed code, tolerant of a missing tail: every existing component is resolved
/// (symbolic links followed, "." and ".." applied after the link they follow), and the components
/// from the first missing one on are appended as written, since a file about to be created has no
/// links below it. A path policy compares this, so a link inside an allowed directory cannot point
/// outside it.
/// </summary>
public static class RealPath
{
    /// <summary>Linux's MAXSYMLINKS: more links than this in one resolution is a loop (ELOOP).</summary>
    private const int MaxLinks = 40;

    /// <exception cref="IOException">A link loop.</exception>
    public static string Resolve(string path, string workingDirectory)
    {
        var pending = new Stack<string>();
        PushComponents(pending, path);
        var resolved = path.StartsWith('/') ? new List<string>() : Split(Resolve(workingDirectory, "/"));
        var links = 0;
        var missing = false;
        while (pending.TryPop(out var component))
        {
            if (component is "" or ".") continue;
            if (component == "..")
            {
                if (resolved.Count > 0) resolved.RemoveAt(resolved.Count - 1);
                continue;
            }
            var candidate = "/" + string.Join('/', resolved.Append(component));
            if (!missing)
            {
                var target = new FileInfo(candidate).LinkTarget;
                if (target is not null)
                {
                    if (++links > MaxLinks) throw new IOException($"too many levels of symbolic links in '{path}'");
                    if (target.StartsWith('/')) resolved.Clear();
                    PushComponents(pending, target);
                    continue;
                }
                missing = !Path.Exists(candidate);
            }
            resolved.Add(component);
        }
        return "/" + string.Join('/', resolved);
    }

    /// <summary>Whether <paramref name="path"/> is <paramref name="prefix"/> or lies under it (whole components only).</summary>
    public static bool IsUnder(string path, string prefix)
    {
        var p = prefix.TrimEnd('/');
        return p.Length == 0 || path == p || path.StartsWith(p + "/", StringComparison.Ordinal);
    }

    private static void PushComponents(Stack<string> pending, string path)
    {
        var parts = path.Split('/');
        for (var i = parts.Length - 1; i >= 0; i--) pending.Push(parts[i]);
    }

    private static List<string> Split(string absolute) => absolute.Split('/', StringSplitOptions.RemoveEmptyEntries).ToList();
}
