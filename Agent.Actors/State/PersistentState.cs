using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Agent.Actors.Platform;

namespace Agent.Actors.State;

/// <summary>
/// What survives agent restarts in <c>&lt;state-dir&gt;/qga.state</c> (qga/main.c, read_persistent_state), a GKeyFile
/// <c>[global]\nfd_counter=N\n</c>: the next file handle, so handles are never reused.
/// </summary>
public sealed record PersistentState(long FdCounter)
{
    public const string FileName = "qga.state";

    /// <summary>qemu-ga's first handle, also used when the key is absent.</summary>
    public static readonly PersistentState Default = new(1000);

    public static string PathIn(string stateDir) => Path.Combine(stateDir, FileName);

    /// <summary>
    /// Reads the state, creating the file with the defaults when it does not exist (qemu-ga does this
    /// at startup). Throws <see cref="PersistentStateException"/> with qemu-ga's texts.
    /// </summary>
    public static PersistentState LoadOrCreate(string stateDir)
    {
        var path = PathIn(stateDir);
        // A first start is told by statx, as qemu-ga tells it (g_file_test), rather than by the exception
        // File.ReadAllText throws for a missing file: that was the only exception of a start, and its first
        // use cost CPU and ~1 MB of the binary's unwind data paged in (bench/README.md, "Start-up share, round 3").
        if (IsMissing(path) && !IsMissing(stateDir)) return Create(stateDir);
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (FileNotFoundException)
        {
            return Create(stateDir);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new PersistentStateException("failed to load persistent state", ex);
        }
        return Parse(text) ?? throw new PersistentStateException("failed to load persistent state");
    }

    private static PersistentState Create(string stateDir)
    {
        try { Default.Save(stateDir); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new PersistentStateException($"unable to create state file at path {PathIn(stateDir)}", ex);
        }
        return Default;
    }

    /// <summary>Whether statx says "no such file"; any other answer leaves it to the caller's read.</summary>
    private static bool IsMissing(string path) => Native.StatxErrno(path) == Native.ENOENT;

    /// <summary>
    /// The keyfile's fd_counter, the default when the key is missing, null when the text is not a
    /// keyfile or the value is not an integer (qemu would silently read 0 and reuse handles).
    /// </summary>
    public static PersistentState? Parse(string text)
    {
        string? group = null;
        var state = Default;
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] == '#') continue;
            if (line[0] == '[')
            {
                if (line[^1] != ']') return null;
                group = line[1..^1];
                continue;
            }
            var eq = line.IndexOf('=');
            if (eq <= 0 || group is null) return null;
            if (group == "global" && line[..eq].TrimEnd() == "fd_counter")
            {
                if (!long.TryParse(line[(eq + 1)..].Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n))
                    return null;
                state = new PersistentState(n);
            }
        }
        return state;
    }

    public string Format() => $"[global]\nfd_counter={FdCounter.ToString(CultureInfo.InvariantCulture)}\n";

    /// <summary>
    /// Replaces the file atomically: the content goes to a temp file that is fsynced and renamed over
    /// qga.state, then the directory is fsynced so the rename itself survives a power cut. A crash at
    /// any point leaves either the old or the new file, never a torn one.
    /// </summary>
    public void Save(string stateDir)
    {
        var path = PathIn(stateDir);
        var temp = path + ".tmp";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0))
        {
            stream.Write(Encoding.ASCII.GetBytes(Format()));
            stream.Flush(flushToDisk: true);
        }
        File.Move(temp, path, overwrite: true);
        SyncDirectory(stateDir);
    }

    private static void SyncDirectory(string dir)
    {
        var fd = Native.Open(dir, Native.Files.O_RDONLY | Native.Files.O_CLOEXEC, 0);
        if (fd < 0) throw new IOException($"cannot open {dir}: {Native.StrError(Marshal.GetLastPInvokeError())}");
        try
        {
            if (Native.FSync(fd) != 0)
                throw new IOException($"cannot fsync {dir}: {Native.StrError(Marshal.GetLastPInvokeError())}");
        }
        finally
        {
            Native.Close(fd);
        }
    }
}

/// <summary>The state file could not be read or created; qemu-ga refuses to start in that case.</summary>
public sealed class PersistentStateException(string message, Exception? inner = null) : Exception(message, inner);
