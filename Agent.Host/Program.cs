using Agent.Actors;
using Agent.Actors.Channel;
using Agent.Actors.Commands;
using Agent.Actors.Service;
using Agent.Actors.Settings;
using Agent.Actors.State;
using Agent.Protocol.Schema;
using Akka.Actor;
using Akka.Configuration;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Serilog;
using Serilog.Events;

namespace Agent.Host;

public static class Program
{
    public static int Main(string[] args)
    {
        // An inherited SIG_IGN would make the kernel auto-reap our children and hide every exit status.
        Agent.Actors.Processes.ReaperActor.ResetChildSignalDisposition();
        var cli = CommandLine.Parse(args, out var optionError);
        if (cli is null)
        {
            // argv[0] is read only here and for --help: reading it first cost ~0.5 ms of every start.
            var argv0 = Argv0();
            Console.Error.WriteLine($"{argv0}: {optionError}");
            Console.Error.WriteLine($"Unknown option, try '{argv0} --help' for more information.");
            return 1;
        }
        if (cli.Help)
        {
            Console.Out.Write(CommandLine.Usage(Argv0()));
            return 0;
        }
        if (cli.Version)
        {
            // qemu-ga's line first, unchanged, for the scripts that parse it; then which build this is.
            Console.Out.WriteLine($"QEMU Guest Agent {Agent.Actors.Commands.Control.InfoActor.Version}");
            Console.Out.WriteLine($"{Identity.Program} {Identity.Version} (commit {Identity.Commit})");
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
        if (configuration.Daemonize && !Daemon.IsDetachedChild)
        {
            var errno = Daemon.Detach(Environment.ProcessPath!, args);
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
        PidFile? pidFile = null;
        if (Daemon.IsDetachedChild)
        {
            Daemon.EnterDetachedChild();
            try
            {
                // Started frozen: the pidfile may sit on a frozen filesystem; it is created at thaw (qga/main.c, ga_unset_frozen).
                if (!startsFrozen) pidFile = PidFile.Create(configuration.Settings.PidFile);
            }
            catch (IOException e)
            {
                Console.Error.WriteLine(e.Message);
                return 1;
            }
        }
        using (pidFile)
            return Run(configuration, new FreezeState(startsFrozen),
                deferredPidFile: Daemon.IsDetachedChild && startsFrozen);
    }

    /// <summary>
    /// The composition root: Akka.Hosting on an empty application builder (no configuration sources, no
    /// logging providers: configuration is our HOCON layering, logging is Serilog), the agent's root and
    /// the service notifier in the ActorRegistry, and <see cref="AgentLifetime"/> instead of the console
    /// lifetime, so SIGTERM stays ignored while filesystems are frozen.
    /// </summary>
    private static IHost BuildHost(Config akka, AgentSettings settings, FreezeState freeze, ServiceManager serviceManager)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddSingleton(freeze);
        builder.Services.AddSingleton(serviceManager);
        builder.Services.AddSingleton<IHostLifetime, AgentLifetime>();
        builder.Services.AddAkka("agent", (akkaBuilder, _) => akkaBuilder
            .AddHocon(akka, HoconAddMode.Prepend)
            .WithActors((system, registry) =>
            {
                // Subscribed before the agent starts, so the channel's first opening is not missed.
                var notifier = system.ActorOf(ServiceNotifier.Props(serviceManager.Notify, "/user/agent/dispatcher",
                    "/user/agent/channel", serviceManager.WatchdogInterval, Serving(settings)), "service-notifier");
                system.EventStream.Subscribe(notifier, typeof(ChannelActor.Opened));
                registry.Register<ServiceNotifier>(notifier);
                registry.Register<AgentSupervisor>(system.ActorOf(AgentSupervisor.Props(settings, freeze), "agent"));
            }));
        // Akka.Hosting's own factory creates the system with ActorSystem.Create(name, setup), which also
        // reads App.config through System.Configuration (ConfigurationFactory.Load): unused, since the
        // builder carries the whole configuration, and it hashes the executable's path with OpenSSL,
        // which the release binary must not load (deploy/README.md). Registered last, this one wins: the
        // same configuration through the overload that reads no App.config. It leaves out the setups
        // the agent does not use (DI-resolved Props, the Microsoft.Extensions.Logging bridge, extensions).
        builder.Services.AddSingleton(sp =>
            ActorSystem.Create("agent", sp.GetRequiredService<AkkaConfigurationBuilder>().Configuration.Value));
        return builder.Build();
    }

    private static string Serving(AgentSettings settings) => $"serving {settings.Channel.Method} {settings.Channel.Path}";

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

        using var serviceManager = ServiceManager.FromEnvironment();
        var level = settings.Verbose ? LogEventLevel.Verbose : LogEventLevel.Error;
        Serilog.Core.Logger Stderr() => new LoggerConfiguration().MinimumLevel.Is(level)
            .WriteTo.Console(new QemuLogFormat(journalPriority: serviceManager.StderrIsJournal),
                standardErrorFromLevel: LogEventLevel.Verbose).CreateLogger();
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

        PidFile? latePidFile = null;
        if (deferredPidFile)
            freeze.Subscribe(frozen =>
            {
                if (frozen || latePidFile is not null) return;
                try { latePidFile = PidFile.Create(settings.PidFile); }
                catch (IOException e) { Log.Warning("failed to create/open pid file: {Error}", e.Message); }
            });

        var akka = AgentSettings.Flattened(HoconSubset.Parse(
                $"akka.loglevel = {(settings.Verbose ? "DEBUG" : "ERROR")}\n" +
                "akka.loggers = [\"Akka.Logger.Serilog.SerilogLogger, Akka.Logger.Serilog\"]\n")
            .WithFallback(configuration.Config));
        freeze.Subscribe(frozen => serviceManager.Notify(frozen
            ? "STATUS=filesystems frozen: SIGTERM ignored until thawed"
            : $"STATUS={Serving(settings)}"));
        var exitCode = 0;
        try
        {
            using var host = BuildHost(akka, settings, freeze, serviceManager);
            host.Start();
            // qemu-ga's line, then which program and build wrote it. Only with -v: the build's identity comes
            // from an assembly attribute, read by reflection (0.3 M instructions of a start).
            if (Log.IsEnabled(LogEventLevel.Debug))
                Log.Debug("Guest agent version {QemuVersion} started ({Program} {Version}, commit {Commit})",
                    Agent.Actors.Commands.Control.InfoActor.Version, Identity.Program, Identity.Version, Identity.Commit);
            // Returns when a signal stopped the host, or when the agent stopped itself (its channel cannot
            // be served) and Akka.Hosting stopped the host after it.
            host.WaitForShutdown();
            var system = host.Services.GetRequiredService<ActorSystem>();
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
