using System.Text;
using Agent.Actors.Platform;

namespace Agent.Host;

/// <summary>
/// The service manager as systemd presents it to a Type=notify service, without libsystemd:
/// notifications are datagrams to $NOTIFY_SOCKET (a path, or an abstract name written with a leading
/// '@'), the watchdog interval is $WATCHDOG_USEC (for us only when $WATCHDOG_PID is unset or ours), and
/// stderr is the journal when its inode matches $JOURNAL_STREAM ("device:inode"). Without
/// $NOTIFY_SOCKET every notification is dropped. See sd_notify(3), sd_watchdog_enabled(3).
/// </summary>
public sealed class ServiceManager : IDisposable
{
    // A plain descriptor, not a System.Net.Sockets Socket, whose first use starts an epoll thread (Native.Sockets.cs).
    private readonly int _socket = -1;
    private readonly byte[]? _address;

    private ServiceManager(string? notifySocket, TimeSpan? watchdogInterval, bool stderrIsJournal)
    {
        WatchdogInterval = watchdogInterval;
        StderrIsJournal = stderrIsJournal;
        if (string.IsNullOrEmpty(notifySocket) || (notifySocket[0] != '/' && notifySocket[0] != '@')) return;
        _address = Native.UnixAddress(notifySocket[0] == '@' ? '\0' + notifySocket[1..] : notifySocket);
        // Non-blocking: a notification is sent from inside FreezeState.Set too, and a service manager
        // that stopped reading must not hold up a freeze; a notification it cannot take is dropped.
        _socket = Native.NewSocket(Native.AF_UNIX, Native.SOCK_DGRAM);
    }

    public static ServiceManager FromEnvironment()
    {
        TimeSpan? watchdog = null;
        var pid = Environment.GetEnvironmentVariable("WATCHDOG_PID");
        if (long.TryParse(Environment.GetEnvironmentVariable("WATCHDOG_USEC"), out var usec) && usec > 0 &&
            (string.IsNullOrEmpty(pid) || pid == Environment.ProcessId.ToString()))
            // Half the timeout, as sd_watchdog_enabled(3) advises: one lost keep-alive is not yet a restart.
            watchdog = TimeSpan.FromMicroseconds(usec / 2.0);
        var manager = new ServiceManager(Environment.GetEnvironmentVariable("NOTIFY_SOCKET"), watchdog,
            JournalStreamIs(Environment.GetEnvironmentVariable("JOURNAL_STREAM"), "/proc/self/fd/2"));
        // Children (guest-exec, helpers, hooks) must not talk to systemd in our name.
        foreach (var name in new[] { "NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "JOURNAL_STREAM" })
            Environment.SetEnvironmentVariable(name, null);
        return manager;
    }

    /// <summary>Keep-alive interval, when the service manager watches us.</summary>
    public TimeSpan? WatchdogInterval { get; }

    /// <summary>Whether log lines go to journald through stderr (they then carry a "&lt;N&gt;" priority prefix).</summary>
    public bool StderrIsJournal { get; }

    /// <summary>Sends "KEY=VALUE" lines; errors are ignored, as sd_notify's callers do.</summary>
    public void Notify(string state)
    {
        if (_socket < 0) return;
        var datagram = Encoding.UTF8.GetBytes(state);
        // Under the lock: once Dispose closed the descriptor, its number may belong to another file.
        lock (_address!)
            if (!_disposed) Native.SendTo(_socket, datagram, _address);
    }

    /// <summary>$JOURNAL_STREAM names stderr when its inode is the one fd 2 points at (a socket: "socket:[inode]").</summary>
    public static bool JournalStreamIs(string? journalStream, string fdLink)
    {
        if (string.IsNullOrEmpty(journalStream)) return false;
        var colon = journalStream.IndexOf(':');
        if (colon < 0) return false;
        string? target;
        try
        {
            target = new FileInfo(fdLink).LinkTarget;
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
        return target == $"socket:[{journalStream[(colon + 1)..]}]";
    }

    private bool _disposed;

    public void Dispose()
    {
        if (_socket < 0) return;
        lock (_address!)
        {
            if (_disposed) return;
            _disposed = true;
            Native.Close(_socket);
        }
    }
}
