using System.Diagnostics;

namespace Agent.Tests.Fakes;

/// <summary>
/// Writes executable scripts for tests. The test process forks children all the time (agents, helpers,
/// qemu-ga); a child forked while this process holds a script open for writing keeps that descriptor
/// until its own exec, and running the script in that window fails with ETXTBSY. So the script is
/// written by a short-lived cat(1): no descriptor open for writing on it ever exists in this process.
/// </summary>
public static class Scripts
{
    public static void WriteExecutable(string path, string content)
    {
        var psi = new ProcessStartInfo("/bin/sh") { RedirectStandardInput = true, UseShellExecute = false };
        foreach (var a in new[] { "-c", "cat > \"$1\" && chmod 755 \"$1\"", "sh", path }) psi.ArgumentList.Add(a);
        using var writer = Process.Start(psi)!;
        writer.StandardInput.Write(content);
        writer.StandardInput.Close();
        writer.WaitForExit();
        if (writer.ExitCode != 0) throw new IOException($"could not write {path} (exit {writer.ExitCode})");
    }
}
