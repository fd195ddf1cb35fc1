using Agent.Actors;
using Agent.Actors.Commands;
using Agent.Protocol.Schema;
using Akka.Actor;
using Akka.Hosting;
using Akka.Logger.Serilog;
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

        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(
            new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddAkka("agent", (akka, _) =>
        {
            akka.AddHocon(configuration.Config, HoconAddMode.Prepend);
            akka.ConfigureLoggers(l =>
            {
                l.LogLevel = settings.Verbose ? Akka.Event.LogLevel.DebugLevel : Akka.Event.LogLevel.ErrorLevel;
                l.ClearLoggers();
                l.AddSerilogLogging();
            });
            akka.WithActors((system, registry) =>
            {
                registry.Register<AgentSupervisor>(system.ActorOf(AgentSupervisor.Props(settings), "agent"));
            });
        });

        using var host = builder.Build();
        var exitCode = 0;
        try
        {
            host.Start();
            Log.Debug("Guest agent version {Version} started", Agent.Actors.Commands.Info.InfoActor.Version);
            var system = host.Services.GetRequiredService<ActorSystem>();
            var lifetime = host.Services.GetRequiredService<IHostApplicationLifetime>();
            // The agent stops itself when its channel cannot be served; the host must follow.
            system.WhenTerminated.ContinueWith(_ => lifetime.StopApplication());
            host.WaitForShutdown();
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
