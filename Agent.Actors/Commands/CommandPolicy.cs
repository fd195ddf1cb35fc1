
namespace Agent.Actors.Commands;

/// <summary>
/// Which registered commands are enabled, computed as qemu-ga HEAD does (qga/main.c,
/// ga_apply_command_filters and ga_command_is_allowed_while_frozen): allowed unless an allow-list
/// exists and omits it; blocked if block-listed; while frozen only the freeze allow-list.
/// Unknown names in the lists are ignored.
/// </summary>
public sealed record CommandPolicy(IReadOnlySet<string> Allow, IReadOnlySet<string> Block)
{
    public const string DisabledReason = "the command is not allowed";

    public static CommandPolicy Create(IEnumerable<string> allow, IEnumerable<string> block) =>
        new(new HashSet<string>(allow), new HashSet<string>(block));

    public bool IsEnabled(CommandSchema command, bool frozen)
    {
        if (frozen) return command.AllowedWhileFrozen;
        var allowed = Allow.Count == 0 || Allow.Contains(command.Name);
        return allowed && !Block.Contains(command.Name);
    }
}
