using Akka.Actor;
using Akka.Dispatch;
using Akka.Event;
using Serilog;
using Serilog.Core;
using Serilog.Core.Enrichers;

namespace Agent.Host;

/// <summary>
/// akka.loggers (Program.cs): Akka's log events into Serilog's <see cref="Log.Logger"/>, as Akka.Logger.Serilog's
/// SerilogLogger passes them (same template, arguments, context properties and start line), with a type switch:
/// SerilogLogger is a ReceiveActor, whose matchers are expression trees compiled when it is created, interpreted
/// under NativeAOT: 2.1 M instructions of every start (bench/README.md, "Start-up share, round 4").
/// </summary>
public sealed class AkkaSerilogLogger : UntypedActor, IRequiresMessageQueue<ILoggerMessageQueueSemantics>
{
    /// <summary>The type name akka.loggers takes.</summary>
    public const string TypeName = "Agent.Host.AkkaSerilogLogger, Agent.Host";

    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case Error e:
                For(e).Error(e.Cause, Template(e.Message), Arguments(e.Message));
                break;
            case Warning e:
                For(e).Warning(e.Cause, Template(e.Message), Arguments(e.Message));
                break;
            case Info e:
                For(e).Information(e.Cause, Template(e.Message), Arguments(e.Message));
                break;
            case Debug e:
                For(e).Debug(e.Cause, Template(e.Message), Arguments(e.Message));
                break;
            case InitializeLogger:
                // Akka.Logger.Serilog's start line; published before the logger subscribes, it reaches only Akka's
                // stdout logger (off unless akka.stdout-loglevel is raised).
                Logging.GetLogger(Context.System.EventStream, "SerilogLogger").Info("SerilogLogger started");
                Sender.Tell(new LoggerInitialized());
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    private static string Template(object message) => message is LogMessage m ? m.Format : "{Message:l}";

    private static object[] Arguments(object message) =>
        message is LogMessage m ? m.Parameters().Where(a => a is not PropertyEnricher).ToArray() : [message];

    private static ILogger For(LogEvent e)
    {
        var logger = Log.Logger
            .ForContext(Constants.SourceContextPropertyName, e.LogClass.FullName)
            .ForContext("ActorPath", Context.Sender.Path)
            .ForContext("Timestamp", e.Timestamp)
            .ForContext("LogSource", e.LogSource)
            .ForContext("Thread", e.Thread.ManagedThreadId.ToString("0000"));
        if (e.Message is LogMessage m && m.Parameters().OfType<ILogEventEnricher>().ToList() is { Count: > 0 } enrichers)
            logger = logger.ForContext(enrichers);
        return logger;
    }
}
