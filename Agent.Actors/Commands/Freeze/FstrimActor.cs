using Agent.Actors.Platform;
using Akka.Event;

namespace Agent.Actors.Commands.Freeze;

/// <summary>
/// guest-fstrim with qemu-ga's semantics (qga/commands-posix.c, qmp_guest_fstrim): FITRIM on every mount of the mount list, results
/// in reverse mount order, per-path errors. A trim can take minutes, so it runs off the actor's thread.
/// </summary>
public sealed class FstrimActor : CommandActor
{
    public static readonly CommandFamily Family = CommandFamily.Of<GuestFstrimArguments>("fstrim", ctx => Props(ctx.Settings.Paths.Procfs, LinuxFilesystemControl.Instance, LinuxFilesystemStats.Instance));

    public static Props Props(string procfs, IFilesystemControl filesystems, IFilesystemStats stats) =>
        ActorConstructor.Props(() => new FstrimActor(procfs, filesystems, stats));

    private readonly ILoggingAdapter _log = Context.GetLogger();

    public FstrimActor(string procfs, IFilesystemControl filesystems, IFilesystemStats stats)
    {
        HandleAsync<GuestFstrimArguments>(a =>
        {
            var minimum = a.Minimum ?? 0;
            _log.Info("guest-fstrim called");
            return Task.Factory.StartNew(() => Trim(procfs, filesystems, stats, minimum), TaskCreationOptions.LongRunning);
        });
    }

    private static JsonValue Trim(string procfs, IFilesystemControl filesystems, IFilesystemStats stats, long minimum)
    {
        IReadOnlyList<Mount> mounts;
        try { mounts = MountTable.Read(procfs, stats); }
        catch (MountTableException ex) { throw new CommandException(ex.Message); }
        var paths = new List<JsonValue>();
        for (var i = mounts.Count - 1; i >= 0; i--)
        {
            var dir = mounts[i].Directory;
            // A negative minimum reaches the kernel as a huge unsigned one, as in qemu-ga.
            var outcome = filesystems.Trim(dir, unchecked((ulong)minimum));
            paths.Add(outcome.Call switch
            {
                { Succeeded: true } => JsonObject.Of(("path", new JsonString(dir)),
                    ("trimmed", new JsonInt(unchecked((long)outcome.Trimmed))), ("minimum", new JsonInt(unchecked((long)outcome.Minimum)))),
                { OpenFailed: true, Errno: var e } => Failure(dir, $"failed to open: {Native.StrError(e)}"),
                { Errno: Native.ENOTTY or Native.EOPNOTSUPP } => Failure(dir, "trim not supported"),
                { Errno: var e } => Failure(dir, $"failed to trim: {Native.StrError(e)}"),
            });
        }
        return JsonObject.Of(("paths", new JsonArray(paths.ToArray())));
    }

    private static JsonObject Failure(string dir, string error) =>
        JsonObject.Of(("path", new JsonString(dir)), ("error", new JsonString(error)));
}
