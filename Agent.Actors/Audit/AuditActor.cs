using Agent.Actors.Settings;
using Agent.Actors.State;
using Agent.Protocol.Envelope;
using Agent.Protocol.Json;
using Akka.Actor;

namespace Agent.Actors.Audit;

/// <summary>
/// /user/agent/audit: writes one <see cref="AuditRecord"/> per finished command that changes the guest
/// to syslog, whatever -v and the log file say. The send never blocks: a missing or full socket sends the
/// record to stderr instead (through a bounded queue) and counts it as missed; the next record that
/// reaches syslog is preceded by an "audit-loss" record with that count. While filesystems are frozen
/// nothing is written (the daemon would write to a frozen disk); records are held and written at thaw
/// with their original time. The frozen switch happens inside <see cref="FreezeState.Set"/> under the
/// same lock as sends, so no send is in flight once a freeze starts.
/// </summary>
public sealed class AuditActor : UntypedActor
{
    /// <summary>A command finished: <paramref name="Error"/> when it failed, else its <paramref name="Value"/>.</summary>
    public sealed record CommandCompleted(string Command, JsonObject Arguments, JsonValue? Value, QmpError? Error);

    public sealed record GetCounters
    {
        public static readonly GetCounters Instance = new();
    }

    /// <param name="Delivered">Records syslog accepted.</param>
    /// <param name="FellBack">Records written to stderr instead of syslog.</param>
    /// <param name="Dropped">Records written nowhere (queues full).</param>
    /// <param name="Held">Records waiting for the thaw.</param>
    public sealed record Counters(long Delivered, long FellBack, long Dropped, int Held);

    private sealed record Thawed
    {
        public static readonly Thawed Instance = new();
    }

    private sealed record HeldRecord(DateTime Utc, string Text);

    private readonly AuditSettings _settings;
    private readonly Func<DateTime> _utcNow;
    private readonly SyslogSocket _syslog;
    private readonly StderrFallback _fallback;
    private readonly Queue<HeldRecord> _held = new();
    private readonly object _gate = new();
    private readonly int _pid = Environment.ProcessId;
    private bool _frozen;
    private long _delivered, _fellBack, _dropped, _missed;

    public AuditActor(AuditSettings settings, FreezeState freeze, Func<DateTime> utcNow, TextWriter stderr)
    {
        _settings = settings;
        _utcNow = utcNow;
        _syslog = new SyslogSocket(settings.Socket);
        _fallback = new StderrFallback(stderr, settings.FallbackQueue);
        var self = Self;
        _frozen = freeze.Frozen;
        freeze.Subscribe(frozen =>
        {
            lock (_gate) _frozen = frozen;
            if (!frozen) self.Tell(Thawed.Instance);
        });
    }

    public static Props Props(AuditSettings settings, FreezeState freeze) =>
        Props(settings, freeze, () => DateTime.UtcNow, Console.Error);

    /// <param name="utcNow">The clock records are stamped with (tests fix it).</param>
    /// <param name="stderr">Where records go when syslog cannot take them.</param>
    public static Props Props(AuditSettings settings, FreezeState freeze, Func<DateTime> utcNow, TextWriter stderr) =>
        ActorConstructor.Props(() => new AuditActor(settings, freeze, utcNow, stderr));

    /// <summary>The dispatcher's hook: tells <paramref name="audit"/> about a finished command that leaves a record.</summary>
    public static void Report(IActorRef audit, string command, JsonObject arguments, JsonValue? value, QmpError? error)
    {
        if (AuditRecord.Covers(command)) audit.Tell(new CommandCompleted(command, arguments, value, error));
    }

    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case CommandCompleted c:
                Write(new HeldRecord(_utcNow(), AuditRecord.Format(c.Command, c.Arguments, c.Value, c.Error)));
                break;
            case Thawed:
                lock (_gate)
                    if (!_frozen) FlushHeld();
                break;
            case GetCounters:
                lock (_gate) Sender.Tell(new Counters(_delivered, _fellBack, _dropped, _held.Count));
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    private void Write(HeldRecord record)
    {
        lock (_gate)
        {
            if (_frozen)
            {
                if (_held.Count < _settings.MaxHeld) _held.Enqueue(record);
                else { _dropped++; _missed++; }
                return;
            }
            FlushHeld();
            Send(record);
        }
    }

    private void FlushHeld()
    {
        while (_held.TryDequeue(out var record)) Send(record);
    }

    private void Send(HeldRecord record)
    {
        // While syslog cannot take the loss count, the record is not tried either: it would fail the same way.
        var syslogUp = _missed == 0 || _syslog.TrySend(Frame(_utcNow(), AuditRecord.Event("audit-loss", ("missed", _missed.ToString()))));
        if (syslogUp) _missed = 0;
        if (syslogUp && _syslog.TrySend(Frame(record.Utc, record.Text)))
        {
            _delivered++;
            return;
        }
        _missed++;
        if (_fallback.TryWrite(record.Utc, record.Text)) _fellBack++;
        else _dropped++;
    }

    private byte[] Frame(DateTime utc, string text) =>
        SyslogDatagram.Format(_settings.Facility, SyslogDatagram.SeverityInfo, utc.ToLocalTime(), _settings.Tag, _pid, text);

    protected override void PostStop()
    {
        _syslog.Dispose();
        _fallback.Dispose();
    }
}
