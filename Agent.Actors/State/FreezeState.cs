namespace Agent.Actors.State;

/// <summary>
/// Whether the agent holds filesystems frozen, for the parts of the process that are not actors: the
/// log sink (no writes while frozen) and the signal handler (SIGTERM/SIGINT ignored while frozen).
/// Only the fsfreeze family changes it. Listeners run synchronously inside <see cref="Set"/>, so when
/// Set(true) returns the log sink has finished its last write and the ioctls may start.
/// </summary>
public sealed class FreezeState(bool frozen = false)
{
    private readonly object _lock = new();
    private readonly List<Action<bool>> _listeners = [];
    private bool _frozen = frozen;

    public bool Frozen
    {
        get { lock (_lock) return _frozen; }
    }

    public void Subscribe(Action<bool> listener)
    {
        lock (_lock) _listeners.Add(listener);
    }

    public void Set(bool frozen)
    {
        Action<bool>[] listeners;
        lock (_lock)
        {
            if (_frozen == frozen) return;
            _frozen = frozen;
            listeners = _listeners.ToArray();
        }
        foreach (var listener in listeners) listener(frozen);
    }
}
