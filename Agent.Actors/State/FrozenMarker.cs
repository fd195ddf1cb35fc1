namespace Agent.Actors.State;

/// <summary>
/// &lt;state-dir&gt;/qga.state.isfrozen: an empty file that exists while the agent holds filesystems
/// frozen, so an agent restarted in that state knows it (qga/main.c, ga_set_frozen). Same name and meaning as qemu-ga's.
/// </summary>
public static class FrozenMarker
{
    public const string FileName = "qga.state.isfrozen";

    public static string PathIn(string stateDir) => Path.Combine(stateDir, FileName);

    /// <summary>Whether it exists; any error other than "not there" propagates (fatal at startup, as in qemu-ga).</summary>
    public static bool Exists(string stateDir)
    {
        // The marker is absent at nearly every start: statx answers that without the exception File's
        // calls throw for it (~0.2 ms of a start under NativeAOT; bench/README.md, "Start-up share").
        switch (Platform.Native.StatxErrno(PathIn(stateDir)))
        {
            case 0: return true;
            case Platform.Native.ENOENT: return false;
        }
        // File.Exists would hide EACCES and friends; only "not there" may read as "thawed".
        try
        {
            _ = File.GetUnixFileMode(PathIn(stateDir));
            return true;
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return false;
        }
    }

    /// <summary>Creates the marker with mode 0600; the error text when that fails.</summary>
    public static string? Create(string stateDir)
    {
        try
        {
            using var _ = new FileStream(PathIn(stateDir), new FileStreamOptions
            {
                Mode = FileMode.Create,
                Access = FileAccess.Write,
                UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            });
            return null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return ex.Message;
        }
    }

    /// <summary>Deletes the marker; the error text when that fails (a missing marker is fine).</summary>
    public static string? Delete(string stateDir)
    {
        try
        {
            File.Delete(PathIn(stateDir));
            return null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return ex.Message;
        }
    }
}
