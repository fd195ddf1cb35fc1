using System.Collections.Concurrent;
using Agent.Host;
using Akka.Actor;
using Akka.Configuration;
using Akka.Event;
using LogEvent = Serilog.Events.LogEvent;
using Serilog;
using Serilog.Core;
using Serilog.Events;

namespace Agent.Tests.Host;

/// <summary>
/// Akka's log events reach Serilog through <see cref="AkkaSerilogLogger"/> as Akka.Logger.Serilog's logger passed
/// them: the format string as the template, its arguments as positional properties, the context properties, the
/// cause, and qemu-ga's line once rendered (<see cref="QemuLogFormat"/>). Serilog's Log.Logger is process-wide, so
/// these run one after another.
/// </summary>
[Collection(nameof(AkkaSerilogLoggerSpecs))]
public sealed class AkkaSerilogLoggerSpecs : IDisposable
{
    private readonly Collecting _sink = new();
    private readonly ActorSystem _system;

    public AkkaSerilogLoggerSpecs()
    {
        Log.Logger = new LoggerConfiguration().MinimumLevel.Verbose().WriteTo.Sink(_sink).CreateLogger();
        _system = ActorSystem.Create("logging", ConfigurationFactory.ParseString(
            $"akka.loglevel = DEBUG\nakka.stdout-loglevel = OFF\nakka.loggers = [\"{AkkaSerilogLogger.TypeName}\"]\n"));
    }

    public void Dispose()
    {
        _system.Terminate().Wait(TimeSpan.FromSeconds(10));
        Log.CloseAndFlush();
    }

    private LogEvent Await(Func<LogEvent, bool> which)
    {
        LogEvent? found = null;
        Assert.True(SpinWait.SpinUntil(() => (found = _sink.Events.FirstOrDefault(which)) is not null, TimeSpan.FromSeconds(10)),
            "no such event; got: " + string.Join(" | ", _sink.Events.Select(e => e.MessageTemplate.Text + " = " + e.RenderMessage())));
        return found!;
    }

    private static string Line(LogEvent e)
    {
        var output = new StringWriter();
        new QemuLogFormat().Format(e, output);
        return output.ToString()[(output.ToString().IndexOf(": ", StringComparison.Ordinal) + 2)..];
    }

    [Fact]
    public void Akka_starts_the_logger_from_its_type_name_and_its_own_start_lines_come_through_it()
    {
        var started = Await(e => e.RenderMessage().EndsWith("-AkkaSerilogLogger [Agent.Host.AkkaSerilogLogger] started"));

        Assert.Equal(LogEventLevel.Debug, started.Level);
        Assert.Equal("debug: Default Loggers started\n", Line(Await(e => e.RenderMessage() == "Default Loggers started")));
    }

    [Fact]
    public void An_error_keeps_its_format_arguments_context_and_cause()
    {
        _system.Log.Error(new InvalidOperationException("boom"), "command family {0} failed after {1} ms", "info", 12);

        var e = Await(e => e.MessageTemplate.Text == "command family {0} failed after {1} ms");
        Assert.Equal(LogEventLevel.Error, e.Level);
        Assert.Equal("boom", e.Exception?.Message);
        Assert.Equal("\"info\"", e.Properties["0"].ToString());
        Assert.Equal("12", e.Properties["1"].ToString());
        foreach (var property in new[] { "SourceContext", "ActorPath", "Timestamp", "LogSource", "Thread" })
            Assert.True(e.Properties.ContainsKey(property), $"{property} missing");
        Assert.Matches("^\"[0-9]{4}\"$", e.Properties["Thread"].ToString());
        Assert.Equal("critical: command family info failed after 12 ms (boom)\n", Line(e));
    }

    [Fact]
    public void Warnings_infos_and_debug_lines_keep_their_levels()
    {
        _system.Log.Warning("w {0}", 1);
        _system.Log.Info("i {0}", 2);
        _system.Log.Debug("d {0}", 3);

        Assert.Equal("warning: w 1\n", Line(Await(e => e.MessageTemplate.Text == "w {0}")));
        Assert.Equal("info: i 2\n", Line(Await(e => e.MessageTemplate.Text == "i {0}")));
        Assert.Equal("debug: d 3\n", Line(Await(e => e.MessageTemplate.Text == "d {0}")));
    }

    [Fact]
    public void An_event_whose_message_is_not_a_format_is_written_whole()
    {
        _system.EventStream.Publish(new Warning("source", typeof(AkkaSerilogLoggerSpecs), "a plain {message}"));

        var e = Await(e => e.Properties.TryGetValue("Message", out var m) && m.ToString() == "\"a plain {message}\"");
        Assert.Equal("{Message:l}", e.MessageTemplate.Text);
        Assert.Equal("warning: a plain {message}\n", Line(e));
    }

    private sealed class Collecting : ILogEventSink
    {
        private readonly ConcurrentQueue<LogEvent> _events = new();

        public IReadOnlyList<LogEvent> Events => _events.ToArray();

        public void Emit(LogEvent logEvent) => _events.Enqueue(logEvent);
    }
}
