using Agent.Actors;
using Agent.Actors.Commands;
using Agent.Protocol.Schema;
using System.Runtime.InteropServices;
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
            Console.Out.WriteLine($"QEMU Guest Agent {Agent.Actors.Commands.Info.InfoActor.Version}");
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
            configuration = AgentConfiguration.Load(cli, Environment.GetEnvironmentVariable("QGA_CONF"));
        }
        catch (ConfigurationError e)
        {
            Console.Error.WriteLine($"** (qemu-ga): CRITICAL **: {e.Message}");
            return 1;
        }
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
        Agent.Actors.State.PidFile? pidFile = null;
        if (Agent.Actors.Processes.Daemon.IsDetachedChild)
        {
            Agent.Actors.Processes.Daemon.EnterDetachedChild();
            try
            {
                pidFile = Agent.Actors.State.PidFile.Create(configuration.Settings.PidFile);
            }
            catch (IOException e)
            {
                Console.Error.WriteLine(e.Message);
                return 1;
            }
        }
        using (pidFile)
            return Run(configuration);
    }

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

    private static int Run(AgentConfiguration configuration)
    {
        var settings = configuration.Settings;
        var log = new LoggerConfiguration()
            .MinimumLevel.Is(settings.Verbose ? LogEventLevel.Verbose : LogEventLevel.Error);
        try
        {
            log = settings.LogFile.Length > 0
                ? log.WriteTo.File(new QemuLogFormat(), settings.LogFile)
                : log.WriteTo.Console(new QemuLogFormat(), standardErrorFromLevel: LogEventLevel.Verbose);
            Log.Logger = log.CreateLogger();
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"unable to open specified log file: {e.Message}");
            return 1;
        }

        // A bare ActorSystem rather than Microsoft.Extensions.Hosting + Akka.Hosting: the agent has one
        // root actor and no DI consumers, and the generic host cost ~10 ms of NativeAOT startup, ~5 MB
        // of RSS and three more assemblies to root (bench/README.md has the figures).
        var akka = ConfigurationFactory.ParseString(
                $"akka.loglevel = {(settings.Verbose ? "DEBUG" : "ERROR")}\n" +
                "akka.loggers = [\"Akka.Logger.Serilog.SerilogLogger, Akka.Logger.Serilog\"]\n")
            .WithFallback(configuration.Config);
        // SIGTERM/SIGINT stop the agent through CoordinatedShutdown with exit status 0, as qemu-ga's do.
        // Registered before the system starts: a signal that arrives while it starts is kept, not lost to
        // the runtime's default (exit 143).
        var stopRequested = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void Stop(PosixSignalContext signal)
        {
            signal.Cancel = true;
            stopRequested.TrySetResult();
        }
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        var exitCode = 0;
        try
        {
            using var system = ActorSystem.Create("agent", akka);
            system.ActorOf(AgentSupervisor.Props(settings), "agent");
            Log.Debug("Guest agent version {Version} started", Agent.Actors.Commands.Info.InfoActor.Version);
            _ = stopRequested.Task.ContinueWith(_ => CoordinatedShutdown.Get(system).Run(CoordinatedShutdown.ClrExitReason.Instance));
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
            Log.CloseAndFlush();
        }
        return exitCode;
    }
}
