using Agent.Actors.Platform;

namespace Agent.Tests.Fakes;

/// <summary>
/// Plays the kernel's side of FIFREEZE/FITHAW/FITRIM: a freeze depth per directory (each FIFREEZE
/// needs its own FITHAW; FITHAW on a thawed filesystem fails with EINVAL), scripted errors, and a log
/// of every call in order. Called from the family's background thread, hence the lock.
/// </summary>
public sealed class FakeFilesystems : IFilesystemControl
{
    public const int EINVAL = 22;
    public const int EIO = 5;
    public const int EACCES = 13;
    public const int EBUSY = 16;
    public const int EOPNOTSUPP = 95;

    private readonly object _lock = new();
    private readonly Dictionary<string, int> _depth = new();
    private readonly List<string> _calls = [];

    /// <summary>What FIFREEZE answers for a directory instead of succeeding.</summary>
    public Dictionary<string, MountCall> FreezeFailures { get; } = new();

    /// <summary>What FITRIM answers per directory; absent directories trim 4096 bytes with the minimum asked for.</summary>
    public Dictionary<string, TrimOutcome> TrimResults { get; } = new();

    /// <summary>Runs inside each FIFREEZE, before it takes effect (to observe what the agent did first).</summary>
    public Action<string>? OnFreeze { get; set; }

    public IReadOnlyList<string> Calls
    {
        get { lock (_lock) return _calls.ToArray(); }
    }

    public int Depth(string dir)
    {
        lock (_lock) return _depth.GetValueOrDefault(dir);
    }

    public bool AnyFrozen
    {
        get { lock (_lock) return _depth.Values.Any(d => d > 0); }
    }

    public void Preset(string dir, int depth)
    {
        lock (_lock) _depth[dir] = depth;
    }

    public MountCall Freeze(string directory)
    {
        OnFreeze?.Invoke(directory);
        lock (_lock)
        {
            _calls.Add($"freeze {directory}");
            if (FreezeFailures.TryGetValue(directory, out var failure)) return failure;
            _depth[directory] = _depth.GetValueOrDefault(directory) + 1;
            return MountCall.Ok;
        }
    }

    public MountCall Thaw(string directory)
    {
        lock (_lock)
        {
            _calls.Add($"thaw {directory}");
            if (_depth.GetValueOrDefault(directory) == 0) return new MountCall(false, EINVAL);
            _depth[directory]--;
            return MountCall.Ok;
        }
    }

    public TrimOutcome Trim(string directory, ulong minimum)
    {
        lock (_lock)
        {
            _calls.Add($"trim {directory} {minimum}");
            return TrimResults.TryGetValue(directory, out var r) ? r : new TrimOutcome(MountCall.Ok, 4096, minimum);
        }
    }
}
