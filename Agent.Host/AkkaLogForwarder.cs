using Akka.Actor;
using Akka.Dispatch;
using Akka.Event;
using Serilog;
using LogEventLevel = Serilog.Events.LogEventLevel;

namespace Agent.Host;

/// <summary>
/// akka.loggers (Program.cs): Akka's log events, the agent's actors' and Akka's own, into the agent's
/// Serilog log, as Akka.Logger.Serilog's SerilogLogger passes them: a LogMessage's format is the message
/// template (its "{0}" placeholders are positional properties), any other message is the text. Not
/// SerilogLogger itself: a ReceiveActor builds its handlers from expression trees, which NativeAOT
/// interprets, ~1 ms of every start (bench/README.md, "Start-up share").
/// </summary>
public sealed class AkkaLogForwarder : UntypedActor, IRequiresMessageQueue<ILoggerMessageQueueSemantics>
{
    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case LogEvent logEvent:
                Forward(logEvent);
                break;
            case InitializeLogger:
                Sender.Tell(new LoggerInitialized());
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    private static void Forward(LogEvent logEvent)
    {
        var level = logEvent switch
        {
            Akka.Event.Error => LogEventLevel.Error,
            Akka.Event.Warning => LogEventLevel.Warning,
            Akka.Event.Info => LogEventLevel.Information,
            _ => LogEventLevel.Debug,
        };
        if (!Log.IsEnabled(level)) return;
        if (logEvent.Message is LogMessage logMessage)
            Log.Write(level, logEvent.Cause, logMessage.Format, logMessage.Parameters().ToArray());
        else
            Log.Write(level, logEvent.Cause, "{Message:l}", logEvent.Message);
    }
}
