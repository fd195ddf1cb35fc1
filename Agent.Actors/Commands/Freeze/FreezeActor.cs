using Agent.Actors.Settings;
using Agent.Actors.Processes;
using Agent.Actors.Commands.Storage;
using Agent.Actors.Platform;
using Agent.Actors.State;
using Agent.Protocol.Json;
using Agent.Protocol.Schema;
using Akka.Actor;
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
/// </summary>
public sealed class FreezeActor : ReceiveActor, IWithTimers, IWithUnboundedStash
{
    public static readonly CommandFamily Family = new(
        "fsfreeze",
        ["guest-fsfreeze-status", "guest-fsfreeze-freeze", "guest-fsfreeze-freeze-list", "guest-fsfreeze-thaw"],
        ctx => Props(FreezeContext.From(ctx))) { CreateAtStart = ctx => ctx.Freeze.Frozen };

    private sealed record FreezeWalked(int Count, string? Error);

    private sealed record ThawWalked(int Count);

    private sealed class AutoThawDue
    {
        public static readonly AutoThawDue Instance = new();
    }

    /// <summary>A freeze or thaw in progress; replies go to ReplyTo with Seq (an auto-thaw has none).</summary>
    private sealed record Job(long Seq, IActorRef? ReplyTo, TimeSpan AutoThaw, string? FreezeError = null, string? Abandoned = null);

    /// <summary>The longest auto-thaw a request may ask for: beyond it, timers and TimeSpan overflow.</summary>
    private const long MaxAutoThawSeconds = 365L * 24 * 3600;

    private const string AutoThawTimer = "auto-thaw";

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly FreezeContext _ctx;
    private bool _frozen;
    private Job? _job;
    private Action<string?>? _afterHook;
    private Task? _walk;
    private TimeSpan _autoThawAfter;

    public ITimerScheduler Timers { get; set; } = null!;

    public IStash Stash { get; set; } = null!;

    public FreezeActor(FreezeContext ctx)
    {
        _ctx = ctx;
        _frozen = ctx.State.Frozen;
        Receive<Execute>(OnExecute);
        Receive<HelperCommand.Finished>(f =>
        {
            var next = _afterHook;
            _afterHook = null;
            next?.Invoke(f.Error);
        });
        Receive<FreezeWalked>(OnFreezeWalked);
        Receive<ThawWalked>(OnThawWalked);
        Receive<AutoThawDue>(_ => OnAutoThawDue());
        Receive<Abandon>(OnAbandon);
    }

    public static Props Props(FreezeContext ctx) => Akka.Actor.Props.Create(() => new FreezeActor(ctx));

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
        catch (CommandException ex)
        {
            _log.Error("failed to clean up frozen filesystems: {0}", ex.Message);
            return;
        }
        SetFrozen(false);
        _log.Warning("stopping while frozen: thawed {0} filesystem(s) without running the thaw hook", count);
    }

    private void OnExecute(Execute e)
    {
        // An auto-thaw runs without the dispatcher knowing: a freeze or thaw arriving meanwhile waits for it.
        if (_job is not null && e.Command != "guest-fsfreeze-status")
        {
            Stash.Stash();
            return;
        }
        switch (e.Command)
        {
            case "guest-fsfreeze-status":
                Sender.Tell(new CommandSucceeded(e.Seq, new JsonString(_frozen ? "frozen" : "thawed")));
                return;
            case "guest-fsfreeze-freeze":
            case "guest-fsfreeze-freeze-list":
                StartFreeze(e);
                return;
            case "guest-fsfreeze-thaw":
                Timers.Cancel(AutoThawTimer);
                StartThaw(new Job(e.Seq, Sender, TimeSpan.Zero));
                return;
            default:
                Sender.Tell(new CommandFailed(e.Seq, CommandErrors.NotFound(e.Command)));
                return;
        }
    }

    private void StartFreeze(Execute e)
    {
        var autoThaw = _ctx.Settings.AutoThaw;
        if (e.Arguments.OptInt(ExtensionSchema.AutoThawArgument) is { } seconds)
        {
            if (seconds is < 0 or > MaxAutoThawSeconds)
            {
                Sender.Tell(CommandFailed.Generic(e.Seq, $"Parameter '{ExtensionSchema.AutoThawArgument}' expects a number of seconds from 0 to {MaxAutoThawSeconds}"));
                return;
            }
            autoThaw = TimeSpan.FromSeconds(seconds);
        }
        var mountpoints = e.Command == "guest-fsfreeze-freeze-list" ? e.Arguments.OptStrings("mountpoints") : null;
        _job = new Job(e.Seq, Sender, autoThaw);
        _log.Info("guest-fsfreeze called");
        RunHook("freeze", error =>
        {
            if (error is not null) Finish(CommandFailed.Generic(_job!.Seq, error));
            else if (_job!.Abandoned is { } abandoned) StartThaw(_job with { FreezeError = abandoned });
            else FreezeMounts(mountpoints);
        });
    }

    private void FreezeMounts(IReadOnlyList<string>? mountpoints)
    {
        IReadOnlyList<Mount> mounts;
        try { mounts = MountTable.Read(_ctx.Procfs, _ctx.Stats); }
        catch (CommandException ex)
        {
            Finish(CommandFailed.Generic(_job!.Seq, ex.Message));
            return;
        }
        // Before the first FIFREEZE: the marker, no more log writes, only the allow-listed commands.
        SetFrozen(true);
        var filesystems = _ctx.Filesystems;
        var walk = Task.Factory.StartNew(() => FreezeAll(filesystems, mounts, mountpoints), TaskCreationOptions.LongRunning);
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

    private void OnFreezeWalked(FreezeWalked walked)
    {
        var job = _job!;
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
        Finish(new CommandSucceeded(job.Seq, new JsonInt(walked.Count)));
    }

    private void StartThaw(Job job)
    {
        _job = job;
        IReadOnlyList<Mount> mounts;
        try { mounts = MountTable.Read(_ctx.Procfs, _ctx.Stats); }
        catch (CommandException ex)
        {
            // qemu-ga leaves the state as it was and reports the mount-list error; an auto-thaw tries again later.
            _log.Error("thaw failed: {0}", ex.Message);
            if (job.ReplyTo is null) ArmAutoThaw(_autoThawAfter);
            Finish(CommandFailed.Generic(job.Seq, job.FreezeError ?? ex.Message));
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

    private void OnThawWalked(ThawWalked walked)
    {
        SetFrozen(false);
        _log.Info("guest-fsthaw called");
        var job = _job!;
        RunHook("thaw", error =>
        {
            if (job.ReplyTo is null)
            {
                _log.Warning("auto-thaw: thawed {0} filesystem(s) that stayed frozen without a guest-fsfreeze-thaw{1}",
                    walked.Count, error is null ? "" : $"; the thaw hook failed: {error}");
                EndJob();
                return;
            }
            Finish(job.FreezeError is { } freezeError ? CommandFailed.Generic(job.Seq, freezeError)
                : error is not null ? CommandFailed.Generic(job.Seq, error)
                : new CommandSucceeded(job.Seq, new JsonInt(walked.Count)));
        });
    }

    /// <summary>A freeze past its deadline ends thawed, with the deadline's error; a thaw simply finishes.</summary>
    private void OnAbandon(Abandon abandon)
    {
        if (_job is not { ReplyTo: not null } job || job.Seq != abandon.Seq || job.FreezeError is not null) return;
        _job = job with { Abandoned = abandon.Error.Desc + "; the filesystems were thawed" };
    }

    private void OnAutoThawDue()
    {
        if (!_frozen || _job is not null) return;
        StartThaw(new Job(0, null, TimeSpan.Zero));
    }

    private void ArmAutoThaw(TimeSpan after)
    {
        _autoThawAfter = after;
        if (after > TimeSpan.Zero) Timers.StartSingleTimer(AutoThawTimer, AutoThawDue.Instance, after);
    }

    /// <summary>Runs the hook with <paramref name="phase"/> when one is configured, then <paramref name="next"/> with its error.</summary>
    private void RunHook(string phase, Action<string?> next)
    {
        if (_ctx.Settings.Hook is not { } hook)
        {
            next(null);
            return;
        }
        _log.Info("executing fsfreeze hook with arg '{0}'", phase);
        _afterHook = next;
        Context.ActorOf(HelperCommand.Props(new HelperCommand.Spec(hook, [phase], null, "execute fsfreeze hook",
            _ctx.Settings.HookTimeout, _ctx.HelperOutputLimit), _ctx.Reaper));
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

    private void Finish(object reply)
    {
        _job!.ReplyTo?.Tell(reply);
        EndJob();
    }

    private void EndJob()
    {
        _job = null;
        Stash.UnstashAll();
    }
}
