using Agent.Actors.Settings;
using Akka.Event;

namespace Agent.Actors.Commands.Power;

/// <summary>What a probe-only attempt found: supported by Method, or not, and why.</summary>
public sealed record ModeCapability(SuspendMode Mode, bool Supported, string? Method, string? Reason);

/// <summary>
/// One guest-suspend-* request (or one mode of the capability query): walks
/// <c>agent.suspend.strategies</c> in order, each a supervised <see cref="ProbeActor"/> and, if it says
/// yes, an <see cref="ExecutorActor"/>. A child that crashes counts as a failed step with a reason.
/// Under <c>probe = qemu</c> the outcome follows qemu-ga HEAD's guest_suspend exactly: an executor error
/// is discarded unless it came from the last strategy, nothing supported gives the fixed text, and
/// otherwise the last strategy's error (possibly none) is the answer.
/// </summary>
public sealed class SuspendAttempt : UntypedActor
{
    public const string NotSupported = "the requested suspend mode is not supported by the guest";

    /// <summary>Who gets the outcome: the dispatcher (to execute) or the capability query (probe only).</summary>
    public abstract record Purpose
    {
        public sealed record Execute(long Seq, IActorRef ReplyTo) : Purpose;
        public sealed record ProbeOnly(IActorRef ReplyTo) : Purpose;
    }

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly SuspendMode _mode;
    private readonly PowerContext _ctx;
    private readonly Purpose _purpose;
    private readonly List<string> _reasons = [];
    private int _index = -1;
    private IActorRef? _step;
    private bool _stepIsProbe;
    private Exception? _stepFailure;
    private bool _modeSupported;
    private string? _lastError;
    private string? _lastExecutionError;

    public SuspendAttempt(SuspendMode mode, PowerContext ctx, Purpose purpose)
    {
        _mode = mode;
        _ctx = ctx;
        _purpose = purpose;
    }

    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case ProbeResult probe:
                OnProbe(probe);
                break;
            case ExecutionResult result:
                OnExecuted(result);
                break;
            case Terminated t when t.ActorRef.Equals(_step):
                OnStepDied();
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    public static Props Props(SuspendMode mode, PowerContext ctx, Purpose purpose) =>
        ActorConstructor.Props(() => new SuspendAttempt(mode, ctx, purpose));

    private bool Strict => _ctx.Power.Probe == ProbeMode.Strict;
    private SuspendStrategy Current => _ctx.Power.Strategies[_index];

    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(ex =>
    {
        _stepFailure = ex;
        return Directive.Stop;
    });

    protected override void PreStart()
    {
        if (Strict && _ctx.Kernel.Refusal(_mode) is { } refusal)
        {
            Finish(supportedBy: null, error: $"{NotSupported}: {refusal}", reason: refusal);
            return;
        }
        NextStrategy();
    }

    private void NextStrategy()
    {
        _index++;
        if (_index >= _ctx.Power.Strategies.Count)
        {
            if (!_modeSupported)
            {
                var reason = _reasons.Count > 0 ? string.Join("; ", _reasons) : "no suspend strategy is configured";
                Finish(null, Strict ? $"{NotSupported}: {reason}" : NotSupported, reason);
            }
            // qemu: the last strategy's error, even none (then it answers success without suspending).
            // strict: the last real failure.
            else if (Strict) Finish(null, _lastExecutionError, _lastExecutionError);
            else Finish(null, _lastError, _lastError);
            return;
        }
        _lastError = null;
        StartStep(ProbeActor.Props(Current, _mode, _ctx), $"probe-{Current.Name()}", probe: true);
    }

    private void StartStep(Props props, string name, bool probe)
    {
        _stepFailure = null;
        _stepIsProbe = probe;
        _step = Context.ActorOf(props, name);
        Context.Watch(_step);
    }

    private void EndStep()
    {
        if (_step is not null) Context.Unwatch(_step);
        _step = null;
    }

    private void OnProbe(ProbeResult probe)
    {
        EndStep();
        if (!probe.Supported)
        {
            _lastError = probe.Error;
            _reasons.Add($"{probe.Strategy.Name()}: {probe.Reason ?? probe.Error ?? "not supported"}");
            NextStrategy();
            return;
        }
        _modeSupported = true;
        if (_purpose is Purpose.ProbeOnly)
        {
            Finish(Current, null, null);
            return;
        }
        StartStep(ExecutorActor.Props(Current, _mode, _ctx), $"executor-{Current.Name()}", probe: false);
    }

    private void OnExecuted(ExecutionResult result)
    {
        EndStep();
        if (result.Error is null)
        {
            Finish(result.Strategy, null, null);
            return;
        }
        _log.Warning("suspend {0} via {1} failed: {2}", _mode.Name(), result.Strategy.Name(), result.Error);
        _lastError = result.Error;
        _lastExecutionError = result.Error;
        if (result.Final)
        {
            Finish(null, result.Error, result.Error);
            return;
        }
        NextStrategy();
    }

    private void OnStepDied()
    {
        var why = $"the {(_stepIsProbe ? "probe" : "executor")} for {Current.Name()} failed: {_stepFailure?.Message ?? "stopped"}";
        if (_stepIsProbe) OnProbe(new ProbeResult(Current, false, null, why));
        else OnExecuted(new ExecutionResult(Current, why, false));
    }

    /// <summary>Reports once and stops; <paramref name="error"/> null means success (for qemu, also the "no error left" quirk).</summary>
    private void Finish(SuspendStrategy? supportedBy, string? error, string? reason)
    {
        switch (_purpose)
        {
            case Purpose.Execute e when error is null:
                e.ReplyTo.Tell(new CommandSucceeded(e.Seq, JsonObject.Empty));
                break;
            case Purpose.Execute e:
                e.ReplyTo.Tell(CommandFailed.Generic(e.Seq, error));
                break;
            case Purpose.ProbeOnly p:
                p.ReplyTo.Tell(new ModeCapability(_mode, supportedBy is not null, supportedBy?.Name(), supportedBy is null ? reason : null));
                break;
        }
        Context.Stop(Self);
    }
}
