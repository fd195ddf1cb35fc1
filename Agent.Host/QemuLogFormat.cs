using Serilog.Events;
using Serilog.Formatting;

namespace Agent.Host;

/// <summary>qemu-ga's log line: "&lt;unix seconds&gt;.&lt;microseconds&gt;: &lt;level&gt;: &lt;message&gt;" with glib level names.</summary>
public sealed class QemuLogFormat : ITextFormatter
{
    public void Format(LogEvent logEvent, TextWriter output)
    {
        var micros = (logEvent.Timestamp.ToUniversalTime() - DateTimeOffset.UnixEpoch).Ticks / 10;
        output.Write($"{micros / 1_000_000}.{micros % 1_000_000:D6}: ");
        output.Write(logEvent.Level switch
        {
            LogEventLevel.Fatal => "error",
            LogEventLevel.Error => "critical",
            LogEventLevel.Warning => "warning",
            LogEventLevel.Information => "info",
            _ => "debug",
        });
        output.Write(": ");
        output.Write(logEvent.RenderMessage());
        if (logEvent.Exception is not null) output.Write($" ({logEvent.Exception.Message})");
        output.Write('\n');
    }
}
