using System.Runtime.InteropServices;
using Agent.Actors.State;
using Microsoft.Extensions.Hosting;
using Serilog;

namespace Agent.Host;

/// <summary>
/// The host's lifetime in place of the console and systemd lifetimes, which stop on every SIGTERM:
/// SIGTERM and SIGINT (qga/main.c, quit_handler) stop the agent with exit status 0, except while it holds filesystems frozen, when
/// they are ignored — exiting then would leave the guest frozen with nobody to thaw it. Signals are
/// owned from construction (when the host is built, before the actor system starts), so one that
/// arrives during start-up is kept rather than lost to the runtime's default (exit 143). Tells the
/// service manager STOPPING=1 when the host starts to stop, for whatever reason.
/// </summary>
public sealed class AgentLifetime : IHostLifetime, IDisposable
{
    private readonly FreezeState _freeze;
    private readonly IHostApplicationLifetime _application;
    private readonly ServiceManager _serviceManager;
    private readonly PosixSignalRegistration _term;
    private readonly PosixSignalRegistration _interrupt;
    private CancellationTokenRegistration _stopping;

    public AgentLifetime(FreezeState freeze, IHostApplicationLifetime application, ServiceManager serviceManager)
    {
        _freeze = freeze;
        _application = application;
        _serviceManager = serviceManager;
        _term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        _interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
    }

    public Task WaitForStartAsync(CancellationToken cancellationToken)
    {
        _stopping = _application.ApplicationStopping.Register(() => _serviceManager.Notify("STOPPING=1\nSTATUS=stopping"));
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private void OnSignal(PosixSignalContext context)
    {
        // Cancel the runtime's default (process exit) in every case; we decide.
        context.Cancel = true;
        if (_freeze.Frozen) return;
        Log.Debug("received signal num {Signal}, quitting", context.Signal == PosixSignal.SIGTERM ? 15 : 2);
        _application.StopApplication();
    }

    public void Dispose()
    {
        _stopping.Dispose();
        _term.Dispose();
        _interrupt.Dispose();
    }
}
