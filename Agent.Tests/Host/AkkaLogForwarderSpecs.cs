using Agent.Host;
using Akka.Actor;
using Akka.Event;
using Serilog;
using Serilog.Core;

namespace Agent.Tests.Host;

/// <summary>
/// akka.loggers: what the agent's actors and Akka log reaches the agent's log as qemu-ga's lines, with
/// the level, the arguments in place and the exception's message.
/// </summary>
public sealed class AkkaLogForwarderSpecs : IDisposable
{
    private sealed class Lines : ILogEventSink
    {
        private readonly List<string> _lines = new();

        public void Emit(Serilog.Events.LogEvent logEvent)
        {
            var line = new StringWriter();
            new QemuLogFormat().Format(logEvent, line);
            lock (_lines) _lines.Add(line.ToString()[(line.ToString().IndexOf(": ", StringComparison.Ordinal) + 2)..]);
        }

        public string[] Snapshot()
        {
            lock (_lines) return _lines.ToArray();
        }
    }

    private readonly Lines _lines = new();
    private readonly ActorSystem _system;

    public AkkaLogForwarderSpecs()
    {
        Log.Logger = new LoggerConfiguration().MinimumLevel.Verbose().WriteTo.Sink(_lines).CreateLogger();
        _system = ActorSystem.Create("forwarder",
            "akka.loglevel = DEBUG\nakka.stdout-loglevel = OFF\nakka.loggers = [\"Agent.Host.AkkaLogForwarder, Agent.Host\"]");
    }

    public void Dispose()
    {
        _system.Terminate().Wait(TimeSpan.FromSeconds(10));
        Log.CloseAndFlush();
    }

    /// <summary>The lines so far, once <paramref name="expected"/> are among them or 10 s passed (Akka logs its own start too).</summary>
    private string[] AwaitLines(params string[] expected)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!expected.All(_lines.Snapshot().Contains) && DateTime.UtcNow < deadline) Thread.Sleep(10);
        return _lines.Snapshot();
    }

    [Fact]
    public void Each_level_arrives_with_its_arguments_in_place_and_the_exception_message()
    {
        var log = Logging.GetLogger(_system, "spec");
        log.Error(new IOException("disk gone"), "channel failed: {0}", "EIO");
        log.Warning("dropped {0} reply line(s) to client {1}", 3, 7);
        log.Info("failed to open channel ({0}); retrying in {1}", "ENOENT", TimeSpan.FromSeconds(1));
        log.Debug("client {0} connected", 5);

        string[] expected =
        [
            "critical: channel failed: EIO (disk gone)\n",
            "warning: dropped 3 reply line(s) to client 7\n",
            "info: failed to open channel (ENOENT); retrying in 00:00:01\n",
            "debug: client 5 connected\n",
        ];
        var lines = AwaitLines(expected);

        Assert.All(expected, line => Assert.Contains(line, lines));
    }

    [Fact]
    public void A_message_that_is_not_a_template_is_written_as_it_is()
    {
        _system.EventStream.Publish(new Akka.Event.Warning("spec", typeof(AkkaLogForwarderSpecs), "braces {stay} as {0} they are"));

        const string expected = "warning: braces {stay} as {0} they are\n";
        Assert.Contains(expected, AwaitLines(expected));
    }
}
