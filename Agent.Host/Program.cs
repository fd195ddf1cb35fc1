using Agent.Actors;
using Agent.Actors.Commands;
using Agent.Actors.State;
using Agent.Protocol.Schema;
using Akka.Actor;
using Akka.Configuration;
using Serilog;
using Serilog.Events;

namespace Agent.Host;

public static class Program
{
    public static int Main(string[] args)
    {
        // An inherited SIG_IGN would make the kernel auto-reap our children and hide every exit status.
        Agent.Actors.Processes.ReaperActor.ResetChildSignalDisposition();
        var argv0 = Argv0();
        var cli = CommandLine.Parse(args, out var optionError);
        if (cli is null)
        {
            Console.Error.WriteLine($"{argv0}: {optionError}");
            Console.Error.WriteLine($"Unknown option, try '{argv0} --help' for more information.");
            return 1;
        }
        if (cli.Help)
        {
            Console.Out.Write(CommandLine.Usage(argv0));
            return 0;
        }
        if (cli.Version)
        {
            Console.Out.WriteLine($"QEMU Guest Agent {Agent.Actors.Commands.Control.InfoActor.Version}");
            return 0;
        }
        if (cli.BlockRpcs.Contains("help") || cli.AllowRpcs.Contains("help"))
        {
            foreach (var name in RegisteredCommandNames()) Console.Out.WriteLine(name);
            return 0;
        }

        AgentConfiguration configuration;
        try
        {
            configuration = AgentConfiguration.Load(cli, Environment.GetEnvironmentVariable("QGA_CONF"),
                Environment.GetEnvironmentVariable("ACTORAGENT_CONF"));
        }
        catch (ConfigurationError e)
        {
            Console.Error.WriteLine($"** (qemu-ga): CRITICAL **: {e.Message}");
            return 1;
        }
        foreach (var warning in configuration.Warnings) GlibWarning(warning);
        if (cli.DumpConfig)
        {
            Console.Out.Write(configuration.DumpKeyFile());
            return 0;
        }
        if (configuration.Daemonize && !Agent.Actors.Processes.Daemon.IsDetachedChild)
        {
            var errno = Agent.Actors.Processes.Daemon.Detach(Environment.ProcessPath!, args);
            if (errno == 0) return 0;
            Console.Error.WriteLine("failed to daemonize");
            return 1;
        }
        bool startsFrozen;
        try
        {
            startsFrozen = FrozenMarker.Exists(configuration.Settings.StateDir);
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"error initializing guest agent: {e.Message}");
            return 1;
        }
        Agent.Actors.State.PidFile? pidFile = null;
        if (Agent.Actors.Processes.Daemon.IsDetachedChild)
        {
            Agent.Actors.Processes.Daemon.EnterDetachedChild();
            try
            {
                // Started frozen: the pidfile may sit on a frozen filesystem; it is created at thaw (qga/main.c, ga_unset_frozen).
                if (!startsFrozen) pidFile = Agent.Actors.State.PidFile.Create(configuration.Settings.PidFile);
            }
            catch (IOException e)
            {
                Console.Error.WriteLine(e.Message);
                return 1;
            }
        }
        using (pidFile)
            return Run(configuration, new FreezeState(startsFrozen),
                deferredPidFile: Agent.Actors.Processes.Daemon.IsDetachedChild && startsFrozen);
    }

    /// <summary>A warning printed the way glib's default handler does, before (or without) our log.</summary>
    private static void GlibWarning(string message) =>
        Console.Error.Write($"\n** (process:{Environment.ProcessId}): WARNING **: {DateTime.Now:HH:mm:ss.fff}: {message}\n");

    /// <summary>argv[0] as the caller typed it (qemu-ga prints it in its usage and errors).</summary>
    private static string Argv0()
    {
        try
        {
            var cmdline = File.ReadAllBytes("/proc/self/cmdline");
            var end = Array.IndexOf(cmdline, (byte)0);
            return System.Text.Encoding.UTF8.GetString(cmdline, 0, end < 0 ? cmdline.Length : end);
        }
        catch (IOException)
        {
            return Environment.ProcessPath ?? "qemu-ga";
        }
    }

    /// <summary>Implemented commands in schema order, as -b help / -a help print them.</summary>
    private static IEnumerable<string> RegisteredCommandNames()
    {
        var registered = CommandCatalog.Families.SelectMany(f => f.Commands).ToHashSet();
        return QgaSchema.Standard.With(ExtensionSchema.Commands).Commands.Select(c => c.Name).Where(registered.Contains);
    }

    /// <param name="freeze">Frozen already when the marker survived a previous instance.</param>
    /// <param name="deferredPidFile">A daemon that started frozen: write the pidfile at the first thaw.</param>
    private static int Run(AgentConfiguration configuration, FreezeState freeze, bool deferredPidFile)
    {
        var settings = configuration.Settings;
        // qemu-ga refuses to start without its state file (handles must never be reused), except when
        // a previous instance left the filesystems frozen: then nothing may be written yet.
        if (!freeze.Frozen)
        {
            try
            {
                Agent.Actors.State.PersistentState.LoadOrCreate(settings.StateDir);
            }
            catch (Agent.Actors.State.PersistentStateException e)
            {
                Console.Error.WriteLine($"{e.Message}: {e.InnerException?.Message}".TrimEnd(' ', ':'));
                Console.Error.WriteLine("failed to load persistent state");
                return 1;
            }
        }
        if (freeze.Frozen)
            GlibWarning("previous instance appears to have exited with frozen filesystems. deferring logging/pidfile creation " +
                        "and disabling non-fsfreeze-safe commands until guest-fsfreeze-thaw is issued, or filesystems are " +
                        $"manually unfrozen and the file {FrozenMarker.PathIn(settings.StateDir)} is removed");

        var level = settings.Verbose ? LogEventLevel.Verbose : LogEventLevel.Error;
        Serilog.Core.Logger Stderr() => new LoggerConfiguration().MinimumLevel.Is(level)
            .WriteTo.Console(new QemuLogFormat(), standardErrorFromLevel: LogEventLevel.Verbose).CreateLogger();
        Serilog.Core.Logger Target() => settings.LogFile.Length > 0
            ? new LoggerConfiguration().MinimumLevel.Is(level).WriteTo.File(new QemuLogFormat(), settings.LogFile).CreateLogger()
            : Stderr();
        try
        {
            Log.Logger = new LoggerConfiguration().MinimumLevel.Is(level)
                .WriteTo.Sink(new FrozenLogGate(freeze, Target, Stderr))
                .CreateLogger();
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"unable to open specified log file: {e.Message}");
            return 1;
        }

        Agent.Actors.State.PidFile? latePidFile = null;
        if (deferredPidFile)
            freeze.Subscribe(frozen =>
            {
                if (frozen || latePidFile is not null) return;
                try { latePidFile = Agent.Actors.State.PidFile.Create(settings.PidFile); }
                catch (IOException e) { Log.Warning("failed to create/open pid file: {Error}", e.Message); }
            });

        // A bare ActorSystem rather than Microsoft.Extensions.Hosting + Akka.Hosting: the agent has one
        // root actor and no DI consumers, and the generic host cost ~10 ms of NativeAOT startup, ~5 MB
        // of RSS and three more assemblies to root (bench/README.md has the figures).
        var akka = ConfigurationFactory.ParseString(
                $"akka.loglevel = {(settings.Verbose ? "DEBUG" : "ERROR")}\n" +
                "akka.loggers = [\"Akka.Logger.Serilog.SerilogLogger, Akka.Logger.Serilog\"]\n")
            .WithFallback(configuration.Config);
        // Signals are owned before the system starts: one that arrives while it starts is kept, not
        // lost to the runtime's default (exit 143).
        using var lifetime = new AgentLifetime(freeze);
        var exitCode = 0;
        try
        {
            using var system = ActorSystem.Create("agent", akka);
            system.ActorOf(AgentSupervisor.Props(settings, freeze), "agent");
            Log.Debug("Guest agent version {Version} started", Agent.Actors.Commands.Control.InfoActor.Version);
            _ = lifetime.StopRequested.ContinueWith(_ =>
                CoordinatedShutdown.Get(system).Run(CoordinatedShutdown.ClrExitReason.Instance));
            // The agent also stops itself when its channel cannot be served.
            system.WhenTerminated.Wait();
            exitCode = CoordinatedShutdown.Get(system).ShutdownReason is AgentSupervisor.ExitReason r ? r.ExitCode : 0;
        }
        catch (Exception e)
        {
            Log.Fatal(e, "error initializing guest agent");
            exitCode = 1;
        }
        finally
        {
            latePidFile?.Dispose();
            Log.CloseAndFlush();
        }
        return exitCode;
    }
}
