using Agent.Actors.Platform;
using Agent.Actors.Settings;

namespace Agent.Actors.Commands.System;

/// <summary>guest-get-osinfo, guest-get-host-name and guest-get-timezone: who and where the guest is.</summary>
public sealed class IdentityActor(AgentSettings settings, IKernel kernel, IClock clock) : CommandActor
{
    public static readonly CommandFamily Family = CommandFamily.Of<GuestGetOsinfoArguments, GuestGetHostNameArguments, GuestGetTimezoneArguments>("identity", ctx => Props(ctx.Settings, LinuxKernel.Instance, SystemClock.Instance));

    public static Props Props(AgentSettings settings, IKernel kernel, IClock clock) =>
        ActorConstructor.Props(() => new IdentityActor(settings, kernel, clock));

    private static readonly (string Key, string Member)[] OsReleaseMembers =
    [
        ("ID", "id"), ("NAME", "name"), ("PRETTY_NAME", "pretty-name"), ("VERSION", "version"),
        ("VERSION_ID", "version-id"), ("VARIANT", "variant"), ("VARIANT_ID", "variant-id"),
    ];

    private readonly AgentSettings _settings = settings;
    private readonly IKernel _kernel = kernel;
    private readonly IClock _clock = clock;

    protected override void PreStart()
    {
        Handle<GuestGetOsinfoArguments>(_ => OsInfo());
        Handle<GuestGetHostNameArguments>(_ => HostName());
        Handle<GuestGetTimezoneArguments>(_ => Timezone());
    }

    // uname's release, version and machine cannot change while the process lives: taken once. The
    // reply is kept with the os-release values it was built from (OsReleaseFile hands back the same
    // values while a statx shows the file unchanged), so an unchanged file costs no new reply; it is
    // kept written, so each reply copies its bytes instead of walking the tree again (as guest-info).
    private JsonString[]? _kernelMembers;
    private IReadOnlyDictionary<string, string>? _repliedRelease;
    private JsonEncoded? _osInfo;

    private JsonValue OsInfo()
    {
        var kernel = _kernelMembers ??= KernelMembers(_kernel.Uname());
        var release = ReadOsRelease();
        if (_osInfo is not null && ReferenceEquals(release, _repliedRelease)) return _osInfo;
        var members = new (string, JsonValue?)[3 + OsReleaseMembers.Length];
        members[0] = ("kernel-release", kernel[0]);
        members[1] = ("kernel-version", kernel[1]);
        members[2] = ("machine", kernel[2]);
        for (var i = 0; i < OsReleaseMembers.Length; i++)
        {
            var (key, member) = OsReleaseMembers[i];
            members[3 + i] = (member, release is not null && release.TryGetValue(key, out var v) ? new JsonString(OsRelease.Unquote(v)) : null);
        }
        _repliedRelease = release;
        return _osInfo = JsonEncoded.Of(JsonObject.Of(members));
    }

    private static JsonString[] KernelMembers(KernelIdentity uname) =>
        [new JsonString(uname.Release), new JsonString(uname.Version), new JsonString(uname.Machine)];

    // Each os-release path with its values, kept while a statx shows the file unchanged (OsReleaseFile).
    private OsReleaseFile? _overrideRelease, _etcRelease, _usrRelease;

    /// <summary>The override alone when set (no fallback, as qemu-ga); else &lt;etc&gt;/os-release, then &lt;usr&gt;/lib/os-release.</summary>
    private IReadOnlyDictionary<string, string>? ReadOsRelease()
    {
        if (_settings.Inventory.OsReleaseOverride is { } path) return (_overrideRelease ??= new OsReleaseFile(path, _clock)).Load();
        return (_etcRelease ??= new OsReleaseFile(Path.Join(_settings.Paths.Etc, "os-release"), _clock)).Load()
            ?? (_usrRelease ??= new OsReleaseFile(Path.Join(_settings.Inventory.Usr, "lib", "os-release"), _clock)).Load();
    }

    private JsonValue HostName()
    {
        try { return JsonObject.Of(("host-name", new JsonString(_kernel.HostName()))); }
        catch (PlatformException ex) { throw new CommandException($"cannot get hostname: {ex.Message}"); }
    }

    private JsonValue Timezone()
    {
        LocalZone zone;
        try { zone = _clock.CurrentZone(); }
        catch (PlatformException) { throw new CommandException("Couldn't retrieve local timezone"); }
        return JsonObject.Of(
            ("zone", zone.Abbreviation is null ? null : new JsonString(zone.Abbreviation)),
            ("offset", new JsonInt(zone.OffsetSeconds)));
    }
}
