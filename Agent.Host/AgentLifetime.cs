using System.Runtime.InteropServices;
using Agent.Actors.State;
using Serilog;

namespace Agent.Host;

/// <summary>
/// Owns SIGTERM and SIGINT from construction on (qga/main.c, quit_handler): they stop the agent with exit status 0,
/// except while it holds filesystems frozen, when they are ignored — exiting then would leave the
/// guest frozen with nobody to thaw it.
/// </summary>
public sealed class AgentLifetime : IDisposable
{
    private readonly FreezeState _freeze;
    private readonly TaskCompletionSource _stopRequested = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly PosixSignalRegistration _term;
    private readonly PosixSignalRegistration _interrupt;

    public AgentLifetime(FreezeState freeze)
    {
        _freeze = freeze;
        _term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        _interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
    }

    /// <summary>Completes at the first SIGTERM or SIGINT received while not frozen.</summary>
    public Task StopRequested => _stopRequested.Task;

    private void OnSignal(PosixSignalContext context)
    {
        // Cancel the runtime's default (process exit) in every case; we decide.
        context.Cancel = true;
        if (_freeze.Frozen) return;
        Log.Debug("received signal num {Signal}, quitting", context.Signal == PosixSignal.SIGTERM ? 15 : 2);
        _stopRequested.TrySetResult();
    }

    public void Dispose()
    {
        _term.Dispose();
        _interrupt.Dispose();
    }
}
