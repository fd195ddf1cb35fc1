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
    /// Reads captured output of a finished guest-exec process from <c>offset</c>, at most <c>count</c>
    /// bytes (as much as fits in one reply when absent), answered as GuestFileRead {count, buf-b64, eof}.
    /// The rest of an output too large for one guest-exec-status reply stays readable through it until
    /// the host has read it all.
    /// </summary>
    public static readonly CommandSchema ExecReadOutput = new("__org.actoragent_guest-exec-read-output",
    [
        new("pid", IntType.Instance),
        new("stream", new EnumType("__org.actoragent_GuestExecOutputStream", ["out", "err"])),
        new("offset", IntType.Instance),
        new("count", IntType.Instance, Optional: true),
    ]);

    /// <summary>
    /// Optional argument of guest-fsfreeze-freeze and -freeze-list: seconds after which the agent thaws
    /// by itself unless guest-fsfreeze-thaw came first (0: never), so a host that dies mid-backup cannot
    /// leave the guest frozen. Overrides agent.fsfreeze.auto-thaw for that freeze.
    /// </summary>
    public const string AutoThawArgument = "__org.actoragent_auto-thaw";

    public static IReadOnlyList<CommandSchema> Commands { get; } = [PowerCapabilities, ExecKill, ExecAck, ExecReadOutput];

    public static CommandSchema? Find(string name) => Commands.FirstOrDefault(c => c.Name == name);
}
