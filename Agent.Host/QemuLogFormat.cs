using Serilog.Events;
using Serilog.Formatting;

namespace Agent.Host;

/// <summary>
/// qemu-ga's log line: "&lt;unix seconds&gt;.&lt;microseconds&gt;: &lt;level&gt;: &lt;message&gt;" with glib level names.
/// Written to the journal (stderr is $JOURNAL_STREAM), each line starts with its syslog priority
/// ("&lt;3&gt;"), which journald strips and keeps as PRIORITY, at the levels glib's journald writer uses.
/// </summary>
public sealed class QemuLogFormat(bool journalPriority = false) : ITextFormatter
{
    public void Format(LogEvent logEvent, TextWriter output)
    {
        if (journalPriority)
            output.Write(logEvent.Level switch
            {
                LogEventLevel.Fatal => "<3>",
                LogEventLevel.Error or LogEventLevel.Warning => "<4>",
                LogEventLevel.Information => "<6>",
                _ => "<7>",
            });
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
        // Strings go in bare, as glib's printf-style messages have them (Serilog would quote them).
        foreach (var token in logEvent.MessageTemplate.Tokens)
        {
            if (token is Serilog.Parsing.PropertyToken p && logEvent.Properties.TryGetValue(p.PropertyName, out var value))
            {
                if (value is ScalarValue { Value: string text }) output.Write(text);
                else value.Render(output);
            }
            else
            {
                token.Render(logEvent.Properties, output);
            }
        }
        if (logEvent.Exception is not null) output.Write($" ({logEvent.Exception.Message})");
        output.Write('\n');
    }
}
