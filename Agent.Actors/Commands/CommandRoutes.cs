
namespace Agent.Actors.Commands;

/// <summary>
/// The one table of the agent's commands: each registered command's schema (Agent.Protocol) and the
/// family that runs it (<see cref="CommandCatalog"/>). Routing, guest-info's list, the policy's view
/// and the 0xFF framing of a reply are all read from here; nothing else names commands.
/// </summary>
public sealed class CommandRoutes
{
    public sealed record Route(CommandSchema Schema, CommandFamily Family);

    private readonly Dictionary<string, Route> _byName;

    /// <summary>Registered commands in schema order (guest-info lists them in reverse).</summary>
    public IReadOnlyList<CommandSchema> Registered { get; }

    public IReadOnlyList<CommandFamily> Families { get; }

    private CommandRoutes(Dictionary<string, Route> byName, IReadOnlyList<CommandSchema> registered, IReadOnlyList<CommandFamily> families)
    {
        _byName = byName;
        Registered = registered;
        Families = families;
    }

    /// <summary>Pairs each family's commands with their schema; a command without schema or with two families is a bug.</summary>
    public static CommandRoutes Create(IEnumerable<CommandSchema> schema, IReadOnlyList<CommandFamily> families)
    {
        var ordered = schema.ToArray();
        var bySchema = ordered.ToDictionary(s => s.Name);
        var byName = new Dictionary<string, Route>();
        foreach (var family in families)
        foreach (var name in family.Commands)
        {
            if (!bySchema.TryGetValue(name, out var s))
                throw new InvalidOperationException($"family '{family.Name}' registers '{name}', which has no schema");
            if (!byName.TryAdd(name, new Route(s, family)))
                throw new InvalidOperationException($"'{name}' is registered by '{byName[name].Family.Name}' and '{family.Name}'");
        }
        var registered = ordered.Where(s => byName.ContainsKey(s.Name)).ToArray();
        return new CommandRoutes(byName, registered, families);
    }

    public static CommandRoutes Create(IReadOnlyList<CommandFamily> families) =>
        Create(QgaSchema.Standard.With(ExtensionSchema.Commands).Commands, families);

    public bool TryGet(string command, out Route route) => _byName.TryGetValue(command, out route!);
}
