
namespace Agent.Actors.Commands.Control;

/// <summary>guest-sync, guest-sync-delimited, guest-ping and guest-info.</summary>
public sealed class InfoActor : CommandActor
{
    /// <summary>The version guest-info and -V report: the QEMU version whose semantics we follow (HEAD).</summary>
    public const string Version = "10.2.50";

    public static readonly CommandFamily Family = CommandFamily.Of<GuestSyncDelimitedArguments, GuestSyncArguments, GuestPingArguments, GuestInfoArguments>("info", ctx => ActorConstructor.Props(() => new InfoActor(ctx)));

    private readonly IReadOnlyList<CommandSchema> _registered;
    private readonly CommandPolicy _policy;
    private readonly Agent.Actors.State.FreezeState _freeze;

    public InfoActor(CommandContext ctx)
    {
        // Reverse schema order, as qemu-ga's list comes out (qga/commands.c, qmp_guest_info).
        _registered = ctx.Registered.Reverse().ToArray();
        _policy = ctx.Policy;
        _freeze = ctx.Freeze;
        Handle<GuestSyncArguments>(a => new JsonInt(a.Id));
        Handle<GuestSyncDelimitedArguments>(a => new JsonInt(a.Id));
        Handle<GuestPingArguments>(_ => JsonObject.Empty);
        Handle<GuestInfoArguments>(_ => Info());
    }

    // The reply depends only on the registered commands, the policy and the freeze state, none of
    // which changes but the last: one value per state, built and written once on first use (the
    // writer then copies its bytes into each reply: bench/README.md).
    private JsonEncoded? _thawedInfo, _frozenInfo;

    private JsonValue Info() =>
        _freeze.Frozen ? _frozenInfo ??= JsonEncoded.Of(BuildInfo(frozen: true)) : _thawedInfo ??= JsonEncoded.Of(BuildInfo(frozen: false));

    private JsonValue BuildInfo(bool frozen)
    {
        return JsonObject.Of(
            ("version", new JsonString(Version)),
            ("supported_commands", new JsonArray(_registered.Select(c => (JsonValue)JsonObject.Of(
                ("name", new JsonString(c.Name)),
                ("enabled", JsonBool.Of(_policy.IsEnabled(c, frozen))),
                ("success-response", JsonBool.Of(c.SuccessResponse)))).ToArray())));
    }
}
