using Agent.Actors.Platform;
using Agent.Actors.Settings;
using Agent.Protocol.Envelope;

namespace Agent.Actors.Commands.Storage;

/// <summary>
/// guest-get-fsinfo. The mount list and disk addresses come from procfs and sysfs at once; the
/// usage numbers need statvfs, which can hang forever on a dead mount, so each runs on a
/// dedicated thread and the reply goes out when all have answered or the deadline passes, without
/// the usage members of the mounts still hanging. A hung statvfs is not started again while it hangs.
/// </summary>
public sealed class FilesystemsActor : CommandActor, IWithTimers
{
    public static readonly CommandFamily Family = CommandFamily.Of<GuestGetFsinfoArguments>("filesystems", ctx => Props(ctx.Settings, LinuxFilesystemStats.Instance));

    public static Props Props(AgentSettings settings, IFilesystemStats stats) =>
        ActorConstructor.Props(() => new FilesystemsActor(settings, stats));

    private sealed record UsageMeasured(string Mountpoint, FilesystemUsage? Usage);

    private sealed record UsageDeadline(long Request);

    private sealed record Filesystem(Mount Mount, string Name, IReadOnlyList<DiskAddress> Disks);

    private sealed class PendingReply(IActorRef replyTo, long seq, IReadOnlyList<Filesystem> filesystems, int awaited)
    {
        public IActorRef ReplyTo { get; } = replyTo;
        public long Seq { get; } = seq;
        public IReadOnlyList<Filesystem> Filesystems { get; } = filesystems;
        public Dictionary<string, FilesystemUsage?> Usages { get; } = new();
        public int Awaited { get; } = awaited;
    }

    private readonly AgentSettings _settings;
    private readonly IFilesystemStats _stats;
    private readonly BlockDevices _devices;
    private readonly Dictionary<long, PendingReply> _pending = new();
    // Mountpoints whose statvfs is running, with the requests waiting for it.
    private readonly Dictionary<string, List<long>> _statvfsInFlight = new();
    private readonly BlockingCallThreads _statvfsThreads = new("statvfs", maxIdle: 4);
    private long _nextRequest;

    public ITimerScheduler Timers { get; set; } = null!;

    public FilesystemsActor(AgentSettings settings, IFilesystemStats stats)
    {
        _settings = settings;
        _stats = stats;
        _devices = new BlockDevices(settings.Paths.Sysfs, settings.Paths.Dev, settings.Inventory.UdevData);
        HandleLater<GuestGetFsinfoArguments>((cmd, _) => OnFsInfo(cmd));
    }

    protected override void OnMessage(object message)
    {
        switch (message)
        {
            case UsageMeasured measured: OnUsage(measured); break;
            case UsageDeadline d: if (_pending.Remove(d.Request, out var p)) Reply(p); break;
            default: Unhandled(message); break;
        }
    }

    private void OnFsInfo(Execute cmd)
    {
        IReadOnlyList<Filesystem> filesystems;
        try { filesystems = Filesystems(); }
        catch (Exception ex) when (ex is CommandException or MountTableException)
        {
            Sender.Tell(CommandFailed.Generic(cmd.Seq, ex.Message));
            return;
        }
        var mountpoints = filesystems.Select(f => f.Mount.Directory).Distinct().ToList();
        var pending = new PendingReply(Sender, cmd.Seq, filesystems, mountpoints.Count);
        if (mountpoints.Count == 0)
        {
            Reply(pending);
            return;
        }
        var request = ++_nextRequest;
        _pending[request] = pending;
        var self = Self;
        foreach (var mountpoint in mountpoints)
        {
            if (_statvfsInFlight.TryGetValue(mountpoint, out var waiting))
            {
                // Still hanging (or answering another request): wait for that call; forget requests already answered.
                waiting.RemoveAll(r => !_pending.ContainsKey(r));
                waiting.Add(request);
                continue;
            }
            _statvfsInFlight[mountpoint] = [request];
            // The thread tells the loop itself: no continuation hops through the thread pool on the way back.
            _statvfsThreads.Run(() =>
            {
                FilesystemUsage? usage;
                try { usage = _stats.Usage(mountpoint); }
                catch (Exception) { usage = null; }
                self.Tell(new UsageMeasured(mountpoint, usage));
                return true;
            });
        }
        Timers.StartSingleTimer(request, new UsageDeadline(request), _settings.Inventory.StatvfsTimeout);
    }

    protected override void PostStop() => _statvfsThreads.Dispose();

    private void OnUsage(UsageMeasured m)
    {
        if (!_statvfsInFlight.Remove(m.Mountpoint, out var waiting)) return;
        foreach (var request in waiting)
        {
            if (!_pending.TryGetValue(request, out var p)) continue;
            p.Usages[m.Mountpoint] = m.Usage;
            if (p.Usages.Count < p.Awaited) continue;
            _pending.Remove(request);
            Timers.Cancel(request);
            Reply(p);
        }
    }

    /// <summary>One entry per mount, in reverse mount order (qemu prepends; libvirt reverses back).</summary>
    private IReadOnlyList<Filesystem> Filesystems()
    {
        var result = new List<Filesystem>();
        foreach (var mount in MountTable.Read(_settings.Paths.Procfs, _stats))
        {
            string? name = null;
            var disks = new List<DiskAddress>();
            _devices.CollectAddresses(_devices.DevBlockPath(mount.Device), ref name, disks);
            result.Insert(0, new Filesystem(mount, name!, disks));
        }
        return result;
    }

    private static void Reply(PendingReply p) =>
        p.ReplyTo.Tell(new CommandSucceeded(p.Seq, new JsonArray(p.Filesystems.Select(f =>
            (JsonValue)ToJson(f, p.Usages.GetValueOrDefault(f.Mount.Directory))).ToArray())));

    private static JsonObject ToJson(Filesystem f, FilesystemUsage? usage)
    {
        var members = new List<(string, JsonValue?)>
        {
            ("name", new JsonString(f.Name)),
            ("mountpoint", new JsonString(f.Mount.Directory)),
            ("type", new JsonString(f.Mount.Type)),
        };
        if (usage is not null)
        {
            var used = usage.Blocks - usage.BlocksFree;
            members.Add(("used-bytes", Number(used * usage.FragmentSize)));
            // The size as a non-root user sees it; the privileged total includes the reserved blocks.
            members.Add(("total-bytes", Number((used + usage.BlocksAvailable) * usage.FragmentSize)));
            members.Add(("total-bytes-privileged", Number(usage.Blocks * usage.FragmentSize)));
        }
        members.Add(("disk", new JsonArray(f.Disks.Select(d => (JsonValue)d.ToJson()).ToArray())));
        return JsonObject.Of(members.ToArray());
    }

    internal static JsonValue Number(ulong value) => value <= long.MaxValue ? new JsonInt((long)value) : new JsonUInt(value);
}
