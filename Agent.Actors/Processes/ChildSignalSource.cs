using System.Runtime.InteropServices;

namespace Agent.Actors.Processes;

/// <summary>
/// Where "a child changed state" wake-ups come from. The real one is SIGCHLD; tests substitute a
/// fake to show that reaping does not depend on a signal arriving (signals coalesce and can be missed).
/// </summary>
public interface IChildSignalSource
{
    /// <summary>Calls <paramref name="onSignal"/> (from any thread) on every wake-up until disposed.</summary>
    IDisposable Subscribe(Action onSignal);
}

/// <summary>SIGCHLD through the runtime's signal thread; the runtime's own Process reaping keeps working alongside.</summary>
public sealed class PosixChildSignalSource : IChildSignalSource
{
    public static readonly PosixChildSignalSource Instance = new();

    private PosixChildSignalSource() { }

    public IDisposable Subscribe(Action onSignal) =>
        PosixSignalRegistration.Create(PosixSignal.SIGCHLD, _ => onSignal());
}
