using Agent.Actors.State;
using Serilog.Core;
using Serilog.Events;

namespace Agent.Host;

/// <summary>
/// Keeps log writes off frozen filesystems (qga/main.c, ga_log): while the agent holds filesystems frozen every
/// event is dropped, as qemu-ga does, and an agent that starts frozen opens its log only at thaw.
/// The switch happens inside <see cref="FreezeState.Set"/>, under the same lock as writes, so no write
/// is in flight when the first FIFREEZE is issued.
/// </summary>
public sealed class FrozenLogGate : ILogEventSink, IDisposable
{
    private readonly object _lock = new();
    private readonly Func<Logger> _open;
    private readonly Func<Logger> _fallback;
    private Logger? _target;
    private bool _enabled;

    /// <param name="open">Opens the configured target; throws when it cannot (the caller reports that at startup).</param>
    /// <param name="fallback">Used when a log file deferred by a frozen start cannot be opened at thaw (qemu-ga falls back to stderr).</param>
    public FrozenLogGate(FreezeState state, Func<Logger> open, Func<Logger> fallback)
    {
        _open = open;
        _fallback = fallback;
        _enabled = !state.Frozen;
        if (_enabled) _target = open();
        state.Subscribe(OnFrozenChanged);
    }

    public void Emit(LogEvent logEvent)
    {
        lock (_lock)
        {
            if (_enabled) _target!.Write(logEvent);
        }
    }

    private void OnFrozenChanged(bool frozen)
    {
        lock (_lock)
        {
            if (frozen)
            {
                _target?.Warning("disabling logging due to filesystem freeze");
                _enabled = false;
                return;
            }
            if (_target is null)
            {
                try { _target = _open(); }
                catch (Exception) { _target = _fallback(); }
            }
            _enabled = true;
            _target.Warning("logging re-enabled due to filesystem unfreeze");
        }
    }

    public void Dispose()
    {
        lock (_lock) _target?.Dispose();
    }
}
