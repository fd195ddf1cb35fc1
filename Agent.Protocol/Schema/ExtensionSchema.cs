namespace Agent.Protocol.Schema;

/// <summary>
/// Commands ActorAgent adds beyond qemu-ga, named by QAPI's downstream-extension rule
/// (<c>__RFQDN_name</c>) so they can never clash with a future upstream command.
/// </summary>
public static class ExtensionSchema
{
    /// <summary>
    /// For each suspend mode: whether it is supported, by which method, and why not — so a management
    /// layer can grey out a button instead of failing late. Probes only; never suspends.
    /// </summary>
    public static readonly CommandSchema PowerCapabilities = new("__org.actoragent_get-power-capabilities", []);

    /// <summary>Signals a guest-exec process group (SIGKILL unless <c>signal</c> is given) before it ends.</summary>
    public static readonly CommandSchema ExecKill = new("__org.actoragent_guest-exec-kill",
        [new("pid", IntType.Instance), new("signal", IntType.Instance, Optional: true)]);

    /// <summary>Drops a guest-exec result that was started with keep-result, once the client has it safely.</summary>
    public static readonly CommandSchema ExecAck = new("__org.actoragent_guest-exec-ack", [new("pid", IntType.Instance)]);

    /// <summary>
    /// Optional argument of guest-fsfreeze-freeze and -freeze-list: seconds after which the agent thaws
    /// by itself unless guest-fsfreeze-thaw came first (0: never), so a host that dies mid-backup cannot
    /// leave the guest frozen. Overrides agent.fsfreeze.auto-thaw for that freeze.
    /// </summary>
    public const string AutoThawArgument = "__org.actoragent_auto-thaw";

    public static IReadOnlyList<CommandSchema> Commands { get; } = [PowerCapabilities, ExecKill, ExecAck];

    public static CommandSchema? Find(string name) => Commands.FirstOrDefault(c => c.Name == name);
}
