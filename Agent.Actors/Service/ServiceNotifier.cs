using Agent.Actors.Channel;
using Akka.Actor;

namespace Agent.Actors.Service;

/// <summary>
/// Tells the service manager how the agent is: ready once the channel is open and the dispatcher
/// answers, then a watchdog keep-alive per interval, sent only when the dispatcher and the channel both
/// answered an <see cref="Identify"/> sent in that interval. Identify is answered by an actor's cell as
/// it drains the mailbox, never by a command family, so a long command (a freeze hook, a suspend) does
/// not hold it up and a busy or frozen agent keeps its keep-alives; a wedged one (a mailbox that stopped
/// draining, a starved thread pool, SIGSTOP) loses them and the service manager restarts it.
/// </summary>
public sealed class ServiceNotifier : UntypedActor, IWithTimers
{
    private sealed class Tick
    {
        public static readonly Tick Instance = new();
        private Tick() { }
    }

    private const long ReadinessProbe = 0;
    private readonly Action<string> _notify;
    private readonly ActorSelection _dispatcher;
    private readonly ActorSelection _channel;
    private readonly TimeSpan? _watchdogInterval;
    private readonly string _status;
    private bool _ready;
    private long _probe = ReadinessProbe;
    private int _answered;

    public ITimerScheduler Timers { get; set; } = null!;

    /// <param name="notify">Sends one notification (sd_notify's "KEY=VALUE" lines).</param>
    /// <param name="dispatcherPath">The dispatcher, probed for readiness and liveness.</param>
    /// <param name="channelPath">The channel, probed for liveness.</param>
    /// <param name="watchdogInterval">How often to probe; null when the service manager wants no keep-alives.</param>
    /// <param name="status">The STATUS= text sent with READY=1.</param>
    public ServiceNotifier(Action<string> notify, string dispatcherPath, string channelPath, TimeSpan? watchdogInterval, string status)
    {
        _notify = notify;
        _dispatcher = Context.ActorSelection(dispatcherPath);
        _channel = Context.ActorSelection(channelPath);
        _watchdogInterval = watchdogInterval;
        _status = status;
    }

    /// <summary>
    /// The host subscribes the notifier to <see cref="ChannelActor.Opened"/> before it starts the agent,
    /// so the first opening cannot be missed.
    /// </summary>
    public static Props Props(Action<string> notify, string dispatcherPath, string channelPath, TimeSpan? watchdogInterval, string status) =>
        ActorConstructor.Props(() => new ServiceNotifier(notify, dispatcherPath, channelPath, watchdogInterval, status));

    protected override void PreStart()
    {
        if (_watchdogInterval is { } interval) Timers.StartPeriodicTimer("watchdog", Tick.Instance, interval);
    }

    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case ChannelActor.Opened when !_ready:
                _dispatcher.Tell(new Identify(ReadinessProbe));
                break;
            case ChannelActor.Opened:
                break;
            case ActorIdentity { MessageId: ReadinessProbe, Subject: not null } when !_ready:
                _ready = true;
                _notify($"READY=1\nSTATUS={_status}");
                break;
            case Tick:
                _probe++;
                _answered = 0;
                _dispatcher.Tell(new Identify(_probe));
                _channel.Tell(new Identify(_probe));
                break;
            case ActorIdentity { MessageId: long id, Subject: not null } when id == _probe && id != ReadinessProbe:
                // Both answered in this interval: one keep-alive. Late answers to an older probe count for nothing.
                if (++_answered == 2) _notify("WATCHDOG=1");
                break;
            case ActorIdentity:
                break;
            default:
                Unhandled(message);
                break;
        }
    }
}
