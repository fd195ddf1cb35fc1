using Agent.Actors.State;
using Agent.Host;
using Serilog;
using Serilog.Core;

namespace Agent.Tests.Host;

/// <summary>The host's log sink while filesystems are frozen (qga/main.c, ga_log).</summary>
public sealed class FrozenLogGateSpecs
{
    private readonly StringWriter _file = new();
    private int _opens;

    private Logger Open()
    {
        _opens++;
        return new LoggerConfiguration().MinimumLevel.Verbose().WriteTo.Sink(new TextSink(_file, withLevel: true)).CreateLogger();
    }

    private static Logger Through(FrozenLogGate gate) => new LoggerConfiguration().MinimumLevel.Verbose().WriteTo.Sink(gate).CreateLogger();

    [Fact]
    public void Nothing_is_written_while_frozen_and_logging_resumes_at_thaw()
    {
        var state = new FreezeState();
        var log = Through(new FrozenLogGate(state, Open, () => throw new InvalidOperationException("no fallback expected")));
        log.Information("before");

        state.Set(true);
        log.Information("during");
        log.Error("an error during");
        state.Set(false);
        log.Information("after");

        Assert.Equal("information: before\nwarning: disabling logging due to filesystem freeze\n" +
                     "warning: logging re-enabled due to filesystem unfreeze\ninformation: after\n", _file.ToString());
        Assert.Equal(1, _opens);
    }

    [Fact]
    public void An_agent_started_frozen_opens_its_log_only_at_thaw()
    {
        var state = new FreezeState(frozen: true);
        var log = Through(new FrozenLogGate(state, Open, () => throw new InvalidOperationException("no fallback expected")));
        log.Information("during");
        Assert.Equal(0, _opens);

        state.Set(false);
        log.Information("after");

        Assert.Equal(1, _opens);
        Assert.Equal("warning: logging re-enabled due to filesystem unfreeze\ninformation: after\n", _file.ToString());
    }

    [Fact]
    public void A_deferred_log_that_cannot_be_opened_at_thaw_falls_back()
    {
        var fallback = new StringWriter();
        var state = new FreezeState(frozen: true);
        var log = Through(new FrozenLogGate(state, () => throw new IOException("Read-only file system"),
            () => new LoggerConfiguration().WriteTo.Sink(new TextSink(fallback, withLevel: false)).CreateLogger()));

        state.Set(false);
        log.Information("after");

        Assert.Equal("logging re-enabled due to filesystem unfreeze\nafter\n", fallback.ToString());
    }

    [Fact]
    public async Task A_write_in_flight_finishes_before_the_freeze_proceeds()
    {
        var state = new FreezeState();
        var inWrite = new ManualResetEventSlim();
        var release = new ManualResetEventSlim();
        var slow = new SlowSink(inWrite, release);
        var log = Through(new FrozenLogGate(state,
            () => new LoggerConfiguration().MinimumLevel.Verbose().WriteTo.Sink(slow).CreateLogger(), () => throw new InvalidOperationException()));

        var writer = Task.Run(() => log.Information("slow write"));
        Assert.True(inWrite.Wait(TimeSpan.FromSeconds(20)));
        var freezing = Task.Run(() => state.Set(true));
        await Task.Delay(300);
        Assert.False(freezing.IsCompleted, "Set(true) returned while a log write was still in flight");
        release.Set();
        await freezing.WaitAsync(TimeSpan.FromSeconds(20));
        await writer.WaitAsync(TimeSpan.FromSeconds(20));
    }

    private sealed class TextSink(TextWriter output, bool withLevel) : ILogEventSink
    {
        public void Emit(Serilog.Events.LogEvent logEvent) =>
            output.Write((withLevel ? $"{logEvent.Level.ToString().ToLowerInvariant()}: " : "") + logEvent.RenderMessage() + "\n");
    }

    private sealed class SlowSink(ManualResetEventSlim inWrite, ManualResetEventSlim release) : ILogEventSink
    {
        public void Emit(Serilog.Events.LogEvent logEvent)
        {
            if (logEvent.MessageTemplate.Text != "slow write") return;
            inWrite.Set();
            release.Wait();
        }
    }
}
