using Agent.Protocol.Json;
using Agent.Protocol.Schema;

namespace Agent.Actors.Commands.Info;

/// <summary>guest-sync, guest-sync-delimited, guest-ping and guest-info.</summary>
public sealed class InfoActor : CommandActor
{
    /// <summary>The version guest-info and -V report: the QEMU version whose semantics we follow (HEAD).</summary>
    public const string Version = "10.2.50";

    public static readonly CommandFamily Family = new(
        "info",
        ["guest-sync-delimited", "guest-sync", "guest-ping", "guest-info"],
        _ => Akka.Actor.Props.Create(() => new InfoActor()));

    /// <summary>
    /// The registered commands as guest-info reports them (reverse schema order), sent by the
    /// dispatcher before any Execute and again whenever enabling changes (block lists, freeze).
    /// </summary>
    public sealed record CommandAvailability(IReadOnlyList<CommandState> Commands);

    public sealed record CommandState(string Name, bool Enabled, bool SuccessResponse);

    private IReadOnlyList<CommandState> _commands = [];

    public InfoActor()
    {
        Receive<CommandAvailability>(a => _commands = a.Commands);
        Handle("guest-sync", args => new JsonInt(args.Int("id")));
        Handle("guest-sync-delimited", args => new JsonInt(args.Int("id")));
        Handle("guest-ping", _ => JsonObject.Empty);
        Handle("guest-info", _ => Info());
    }

    private JsonValue Info() => JsonObject.Of(
        ("version", new JsonString(Version)),
        ("supported_commands", new JsonArray(_commands.Select(c => (JsonValue)JsonObject.Of(
            ("name", new JsonString(c.Name)),
            ("enabled", JsonBool.Of(c.Enabled)),
            ("success-response", JsonBool.Of(c.SuccessResponse)))).ToArray())));
}
