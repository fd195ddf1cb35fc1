using System.Runtime.InteropServices;
using Agent.Actors.State;
using Microsoft.Extensions.Hosting;
using Serilog;

namespace Agent.Host;

/// <summary>
/// Owns SIGTERM and SIGINT in place of the generic host's console lifetime (spec §6.8): they stop the
/// agent with exit status 0, except while it holds filesystems frozen, when they are ignored — exiting
/// then would leave the guest frozen with nobody to thaw it.
/// </summary>
public sealed class AgentLifetime(IHostApplicationLifetime application, FreezeState freeze) : IHostLifetime, IDisposable
{
    private readonly List<PosixSignalRegistration> _registrations = [];

    public Task WaitForStartAsync(CancellationToken cancellationToken)
    {
        _registrations.Add(PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal));
        _registrations.Add(PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal));
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private void OnSignal(PosixSignalContext context)
    {
        // Cancel the runtime's default (process exit) in every case; we decide.
        context.Cancel = true;
        if (freeze.Frozen) return;
        Log.Debug("received signal num {Signal}, quitting", context.Signal == PosixSignal.SIGTERM ? 15 : 2);
        application.StopApplication();
    }

    public void Dispose()
    {
        foreach (var registration in _registrations) registration.Dispose();
        _registrations.Clear();
    }
}
