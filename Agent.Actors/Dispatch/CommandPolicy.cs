using Agent.Protocol.Schema;

namespace Agent.Actors.Dispatch;

/// <summary>
/// Which registered commands are enabled, computed as qemu-ga HEAD does (spec §2.3): allowed unless an
/// allow-list exists and omits it; blocked if block-listed; while frozen only the freeze allow-list.
/// Unknown names in the lists are ignored.
/// </summary>
public sealed record CommandPolicy(IReadOnlySet<string> Allow, IReadOnlySet<string> Block, bool Frozen)
{
    public const string DisabledReason = "the command is not allowed";

    public static CommandPolicy Create(IEnumerable<string> allow, IEnumerable<string> block) =>
        new(new HashSet<string>(allow), new HashSet<string>(block), Frozen: false);

    public bool IsEnabled(CommandSchema command)
    {
        var allowed = Allow.Count == 0 || Allow.Contains(command.Name);
        if (Block.Contains(command.Name)) allowed = false;
        if (Frozen) allowed = command.AllowedWhileFrozen;
        return allowed;
    }
}
