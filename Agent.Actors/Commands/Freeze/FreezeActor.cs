using Agent.Actors.Settings;
using Agent.Actors.Processes;
using Agent.Actors.Platform;
using Agent.Actors.State;
using Akka.Event;

namespace Agent.Actors.Commands.Freeze;

/// <summary>What the fsfreeze family depends on.</summary>
public sealed record FreezeContext(
    FreezeSettings Settings,
    string StateDir,
    string Procfs,
    int HelperOutputLimit,
    IActorRef Reaper,
    FreezeState State,
    IFilesystemControl Filesystems,
    IFilesystemStats Stats)
{
    public static FreezeContext From(CommandContext ctx) => new(
        ctx.Settings.Freeze, ctx.Settings.StateDir, ctx.Settings.Paths.Procfs, ctx.Settings.Processes.HelperOutputLimit,
        ctx.Reaper, ctx.Freeze, LinuxFilesystemControl.Instance, LinuxFilesystemStats.Instance);
}

/// <summary>
/// guest-fsfreeze-status/-freeze/-freeze-list/-thaw with qemu-ga HEAD's steps and texts (qga/commands-posix.c, qmp_guest_fsfreeze_freeze_list):
/// the hook runs as a supervised child with a timeout, the ioctls run off the actor's thread, and the
/// frozen state (marker file and <see cref="FreezeState"/>, which the dispatcher's policy reads) is set
/// before the first FIFREEZE and cleared after the last FITHAW. A freeze abandoned at its deadline
/// thaws (hook included) before its error is answered, so host and guest never disagree. Beyond qemu-ga: an auto-thaw timer, and a
/// thaw without hook when the actor stops while frozen (qemu-ga's cleanup thaws too).
/// States (Become): at rest, thawed or frozen (the family's handlers; <see cref="FreezeState"/> says which) →
/// freezing (hook, then the FIFREEZE walk) → at rest, or thawing (the FITHAW walk, then the hook) → at rest.
/// While freezing or thawing, guest-fsfreeze-status is answered and other commands wait in the stash.
/// </summary>
public sealed class FreezeActor : CommandActor, IWithTimers, IWithUnboundedStash
{
    public static readonly CommandFamily Family = CommandFamily.Of<GuestFsfreezeStatusArguments, GuestFsfreezeFreezeArguments,
        GuestFsfreezeFreezeListArguments, GuestFsfreezeThawArguments>("fsfreeze", ctx => Props(FreezeContext.From(ctx))) with { CreateAtStart = ctx => ctx.Freeze.Frozen };

    private sealed record FreezeWalked(int Count, string? Error);

    private sealed record ThawWalked(int Count);

    private sealed class AutoThawDue
    {
        public static readonly AutoThawDue Instance = new();
    }

    /// <summary>
    /// The freeze or thaw in progress, carried by the freezing and thawing states; replies go to
    /// ReplyTo with Seq (an auto-thaw has none).
    /// </summary>
    private sealed record Job(long Seq, IActorRef? ReplyTo, TimeSpan AutoThaw, IReadOnlyList<string>? Mountpoints = null,
        string? FreezeError = null, string? Abandoned = null, int Thawed = 0);

    /// <summary>The longest auto-thaw a request may ask for: beyond it, timers and TimeSpan overflow.</summary>
    private const long MaxAutoThawSeconds = 365L * 24 * 3600;

    private const string AutoThawTimer = "auto-thaw";

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly FreezeContext _ctx;
    private bool _frozen;
    private Task? _walk;
    private TimeSpan _autoThawAfter;

    public ITimerScheduler Timers { get; set; } = null!;

    public IStash Stash { get; set; } = null!;

    public FreezeActor(FreezeContext ctx)
    {
        _ctx = ctx;
        _frozen = ctx.State.Frozen;
        Handle<GuestFsfreezeStatusArguments>(_ => new JsonString(_frozen ? "frozen" : "thawed"));
        HandleLater<GuestFsfreezeFreezeArguments>((e, a) => StartFreeze(e, a.AutoThaw, null));
        HandleLater<GuestFsfreezeFreezeListArguments>((e, a) => StartFreeze(e, a.AutoThaw, a.Mountpoints));
        HandleLater<GuestFsfreezeThawArguments>((e, _) =>
        {
            Timers.Cancel(AutoThawTimer);
            StartThaw(new Job(e.Seq, Sender, TimeSpan.Zero));
        });
    }

    public static Props Props(FreezeContext ctx) => ActorConstructor.Props(() => new FreezeActor(ctx));

    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(_ => Directive.Stop);

    protected override void PreStart()
    {
        // Started frozen (the marker survived a previous instance): the safety net applies to that freeze too.
        if (_frozen) ArmAutoThaw(_ctx.Settings.AutoThaw);
    }

    protected override void PostStop()
    {
        if (!_frozen) return;
        // Never leave the guest frozen behind us (qemu-ga's cleanup does the same); no child may be
        // started any more, so the thaw hook cannot run. A freeze walk still running would freeze
        // behind our thaw: let it end first.
        _walk?.Wait(_ctx.Settings.HookTimeout);
        int count;
        try { count = ThawAll(_ctx.Filesystems, MountTable.Read(_ctx.Procfs, _ctx.Stats)); }
        catch (MountTableException ex)
        {
            _log.Error("failed to clean up frozen filesystems: {0}", ex.Message);
            return;
        }
        SetFrozen(false);
        _log.Warning("stopping while frozen: thawed {0} filesystem(s) without running the thaw hook", count);
    }

    /// <summary>At rest: the auto-thaw of a freeze nobody thawed.</summary>
    protected override void OnMessage(object message)
    {
        if (message is not AutoThawDue) Unhandled(message);
        else if (_frozen) StartThaw(new Job(0, null, TimeSpan.Zero));
    }

    /// <summary>At rest nothing is in flight: a freeze past its deadline is handled while freezing.</summary>
    protected override void OnAbandon(Abandon abandon)
    {
    }

    /// <summary>What freezing and thawing share: status answers, other commands wait, a late auto-thaw is dropped.</summary>
    private void Busy(object message)
    {
        switch (message)
        {
            case Execute e when e.Command == GuestFsfreezeStatusArguments.Command:
                OnReceive(message);
                break;
            case Execute:
                Stash.Stash();
                break;
            case Abandon or AutoThawDue:
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    private void StartFreeze(Execute e, long? autoThawSeconds, IReadOnlyList<string>? mountpoints)
    {
        var autoThaw = _ctx.Settings.AutoThaw;
        if (autoThawSeconds is { } seconds)
        {
            if (seconds is < 0 or > MaxAutoThawSeconds)
                throw new CommandException($"Parameter '{ExtensionSchema.AutoThawArgument}' expects a number of seconds from 0 to {MaxAutoThawSeconds}");
            autoThaw = TimeSpan.FromSeconds(seconds);
        }
        var job = new Job(e.Seq, Sender, autoThaw, mountpoints);
        _log.Info("guest-fsfreeze called");
        Become(m => Freezing(m, job));
        if (!StartHook("freeze")) AfterFreezeHook(job, null);
    }

    private void Freezing(object message, Job job)
    {
        switch (message)
        {
            case HelperCommand.Finished hook:
                AfterFreezeHook(job, hook.Error);
                break;
            case FreezeWalked walked:
                AfterFreezeWalk(job, walked);
                break;
            case Abandon abandon when abandon.Seq == job.Seq && job.Abandoned is null:
                // Thawed as soon as what runs now has ended; the error is answered after the thaw.
                var abandoned = job with { Abandoned = abandon.Error.Desc + "; the filesystems were thawed" };
                Become(m => Freezing(m, abandoned));
                break;
            default:
                Busy(message);
                break;
        }
    }

    private void AfterFreezeHook(Job job, string? error)
    {
        if (error is not null) Finish(job, CommandFailed.Generic(job.Seq, error));
        else if (job.Abandoned is { } abandoned) StartThaw(job with { FreezeError = abandoned });
        else FreezeMounts(job);
    }

    private void FreezeMounts(Job job)
    {
        IReadOnlyList<Mount> mounts;
        try { mounts = MountTable.Read(_ctx.Procfs, _ctx.Stats); }
        catch (MountTableException ex)
        {
            Finish(job, CommandFailed.Generic(job.Seq, ex.Message));
            return;
        }
        // Before the first FIFREEZE: the marker, no more log writes, only the allow-listed commands.
        SetFrozen(true);
        var filesystems = _ctx.Filesystems;
        var only = job.Mountpoints;
        var walk = Task.Factory.StartNew(() => FreezeAll(filesystems, mounts, only), TaskCreationOptions.LongRunning);
        _walk = walk;
        walk.PipeTo(Self, failure: ex => new FreezeWalked(0, ex.Message));
    }

    /// <summary>Innermost mounts first; EOPNOTSUPP and EBUSY (a bind mount frozen twice) are skipped and not counted.</summary>
    private static FreezeWalked FreezeAll(IFilesystemControl filesystems, IReadOnlyList<Mount> mounts, IReadOnlyList<string>? only)
    {
        var count = 0;
        for (var i = mounts.Count - 1; i >= 0; i--)
        {
            var dir = mounts[i].Directory;
            if (only is not null && !only.Contains(dir)) continue;
            var call = filesystems.Freeze(dir);
            if (call.Succeeded) count++;
            else if (call.OpenFailed) return new FreezeWalked(0, $"failed to open {dir}: {Native.StrError(call.Errno)}");
            else if (call.Errno is not (Native.EOPNOTSUPP or Native.EBUSY))
                return new FreezeWalked(0, $"failed to freeze {dir}: {Native.StrError(call.Errno)}");
        }
        return new FreezeWalked(count, null);
    }

    private void AfterFreezeWalk(Job job, FreezeWalked walked)
    {
        if (job.Abandoned is { } abandoned)
        {
            StartThaw(job with { FreezeError = abandoned });
            return;
        }
        if (walked.Error is not null)
        {
            // Leave nothing half frozen: the full thaw routine (hook included), then the freeze's error.
            StartThaw(job with { FreezeError = walked.Error });
            return;
        }
        if (walked.Count == 0)
        {
            SetFrozen(false);
        }
        else
        {
            ArmAutoThaw(job.AutoThaw);
        }
        Finish(job, new CommandSucceeded(job.Seq, new JsonInt(walked.Count)));
    }

    private void StartThaw(Job job)
    {
        Become(m => Thawing(m, job));
        IReadOnlyList<Mount> mounts;
        try { mounts = MountTable.Read(_ctx.Procfs, _ctx.Stats); }
        catch (MountTableException ex)
        {
            // qemu-ga leaves the state as it was and reports the mount-list error; an auto-thaw tries again later.
            _log.Error("thaw failed: {0}", ex.Message);
            if (job.ReplyTo is null) ArmAutoThaw(_autoThawAfter);
            Finish(job, CommandFailed.Generic(job.Seq, job.FreezeError ?? ex.Message));
            return;
        }
        var filesystems = _ctx.Filesystems;
        Task.Factory.StartNew(() => new ThawWalked(ThawAll(filesystems, mounts)), TaskCreationOptions.LongRunning)
            .PipeTo(Self, failure: _ => new ThawWalked(0));
    }

    /// <summary>
    /// FITHAW on every mount until it fails: each FIFREEZE needs its own FITHAW, and a mount counts
    /// once if any call succeeded. Mounts that cannot be opened are skipped.
    /// </summary>
    private static int ThawAll(IFilesystemControl filesystems, IReadOnlyList<Mount> mounts)
    {
        var count = 0;
        foreach (var mount in mounts)
        {
            var thawed = false;
            while (filesystems.Thaw(mount.Directory).Succeeded) thawed = true;
            if (thawed) count++;
        }
        return count;
    }

    /// <summary>A thaw simply finishes, also past its deadline.</summary>
    private void Thawing(object message, Job job)
    {
        switch (message)
        {
            case ThawWalked walked:
                SetFrozen(false);
                _log.Info("guest-fsthaw called");
                var thawed = job with { Thawed = walked.Count };
                Become(m => Thawing(m, thawed));
                if (!StartHook("thaw")) AfterThawHook(thawed, null);
                break;
            case HelperCommand.Finished hook:
                AfterThawHook(job, hook.Error);
                break;
            default:
                Busy(message);
                break;
        }
    }

    private void AfterThawHook(Job job, string? error)
    {
        if (job.ReplyTo is null)
        {
            _log.Warning("auto-thaw: thawed {0} filesystem(s) that stayed frozen without a guest-fsfreeze-thaw{1}",
                job.Thawed, error is null ? "" : $"; the thaw hook failed: {error}");
            Finish(job, null);
            return;
        }
        Finish(job, job.FreezeError is { } freezeError ? CommandFailed.Generic(job.Seq, freezeError)
            : error is not null ? CommandFailed.Generic(job.Seq, error)
            : new CommandSucceeded(job.Seq, new JsonInt(job.Thawed)));
    }

    private void ArmAutoThaw(TimeSpan after)
    {
        _autoThawAfter = after;
        if (after > TimeSpan.Zero) Timers.StartSingleTimer(AutoThawTimer, AutoThawDue.Instance, after);
    }

    /// <summary>Starts the hook with <paramref name="phase"/> when one is configured; its Finished comes to the current state.</summary>
    private bool StartHook(string phase)
    {
        if (_ctx.Settings.Hook is not { } hook) return false;
        _log.Info("executing fsfreeze hook with arg '{0}'", phase);
        Context.ActorOf(HelperCommand.Props(new HelperCommand.Spec(hook, [phase], null, "execute fsfreeze hook",
            _ctx.Settings.HookTimeout, _ctx.HelperOutputLimit), _ctx.Reaper));
        return true;
    }

    private void SetFrozen(bool frozen)
    {
        if (_frozen == frozen) return;
        _frozen = frozen;
        if (frozen)
        {
            if (FrozenMarker.Create(_ctx.StateDir) is { } error)
                _log.Warning("unable to create {0}, fsfreeze may not function properly ({1})", FrozenMarker.PathIn(_ctx.StateDir), error);
            _ctx.State.Set(true);
        }
        else
        {
            Timers.Cancel(AutoThawTimer);
            _ctx.State.Set(false);
            if (FrozenMarker.Delete(_ctx.StateDir) is { } error)
                _log.Warning("unable to delete {0}, fsfreeze may not function properly ({1})", FrozenMarker.PathIn(_ctx.StateDir), error);
        }
    }

    /// <summary>Answers the job (an auto-thaw has nobody to answer), back to rest, and lets the waiting commands in.</summary>
    private void Finish(Job job, object? reply)
    {
        if (reply is not null) job.ReplyTo?.Tell(reply);
        Become(OnReceive);
        Stash.UnstashAll();
    }
}
