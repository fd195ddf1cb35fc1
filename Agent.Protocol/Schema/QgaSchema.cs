namespace Agent.Protocol.Schema;

/// <summary>
/// The qga command table in HEAD schema order (Linux build: 43 commands), with argument types,
/// success-response and the freeze allow-list.
/// </summary>
public static class QgaSchema
{
    private static readonly ArrayType Strings = new(StringType.Instance);

    private static readonly AlternateType GuestFileWhence = new("GuestFileWhence",
        [IntType.Instance, new EnumType("QGASeek", ["set", "cur", "end"])]);

    private static readonly AlternateType GuestExecCaptureOutput = new("GuestExecCaptureOutput",
        [BoolType.Instance, new EnumType("GuestExecCaptureOutputMode", ["none", "stdout", "stderr", "separated", "merged"])]);

    private static readonly StructType GuestLogicalProcessor = new("GuestLogicalProcessor",
        [new("logical-id", IntType.Instance), new("online", BoolType.Instance), new("can-offline", BoolType.Instance, Optional: true)]);

    private static readonly StructType GuestMemoryBlock = new("GuestMemoryBlock",
        [new("phys-index", UInt64Type.Instance), new("online", BoolType.Instance), new("can-offline", BoolType.Instance, Optional: true)]);

    private static Member Req(string name, SchemaType type) => new(name, type);
    private static Member Opt(string name, SchemaType type) => new(name, type, Optional: true);

    private static CommandSchema Cmd(string name, params Member[] args) => new(name, args);
    private static CommandSchema Frozen(string name, params Member[] args) => new(name, args, AllowedWhileFrozen: true);
    private static CommandSchema NoReply(string name, params Member[] args) => new(name, args, SuccessResponse: false);

    /// <summary>The standard Linux table (what `qemu-ga -b help` lists, HEAD).</summary>
    public static readonly CommandTable Standard = new(
    [
        Frozen("guest-sync-delimited", Req("id", IntType.Instance)) with { DelimitedReply = true },
        Frozen("guest-sync", Req("id", IntType.Instance)),
        Frozen("guest-ping"),
        Cmd("guest-get-time"),
        Cmd("guest-set-time", Opt("time", IntType.Instance)),
        Frozen("guest-info"),
        NoReply("guest-shutdown", Opt("mode", StringType.Instance)),
        Cmd("guest-file-open", Req("path", StringType.Instance), Opt("mode", StringType.Instance)),
        Cmd("guest-file-close", Req("handle", IntType.Instance)),
        Cmd("guest-file-read", Req("handle", IntType.Instance), Opt("count", IntType.Instance)),
        Cmd("guest-file-write", Req("handle", IntType.Instance), Req("buf-b64", StringType.Instance), Opt("count", IntType.Instance)),
        Cmd("guest-file-seek", Req("handle", IntType.Instance), Req("offset", IntType.Instance), Req("whence", GuestFileWhence)),
        Cmd("guest-file-flush", Req("handle", IntType.Instance)),
        Frozen("guest-fsfreeze-status"),
        Cmd("guest-fsfreeze-freeze", Opt(ExtensionSchema.AutoThawArgument, IntType.Instance)),
        Cmd("guest-fsfreeze-freeze-list", Opt("mountpoints", Strings), Opt(ExtensionSchema.AutoThawArgument, IntType.Instance)),
        Frozen("guest-fsfreeze-thaw"),
        Cmd("guest-fstrim", Opt("minimum", IntType.Instance)),
        NoReply("guest-suspend-disk"),
        NoReply("guest-suspend-ram"),
        NoReply("guest-suspend-hybrid"),
        Cmd("guest-network-get-interfaces"),
        Cmd("guest-get-vcpus"),
        Cmd("guest-set-vcpus", Req("vcpus", new ArrayType(GuestLogicalProcessor))),
        Cmd("guest-get-disks"),
        Cmd("guest-get-fsinfo"),
        Cmd("guest-set-user-password", Req("username", StringType.Instance), Req("password", StringType.Instance), Req("crypted", BoolType.Instance)),
        Cmd("guest-get-memory-blocks"),
        Cmd("guest-set-memory-blocks", Req("mem-blks", new ArrayType(GuestMemoryBlock))),
        Cmd("guest-get-memory-block-info"),
        Cmd("guest-exec-status", Req("pid", IntType.Instance)),
        Cmd("guest-exec", Req("path", StringType.Instance), Opt("arg", Strings), Opt("env", Strings),
            Opt("input-data", StringType.Instance), Opt("capture-output", GuestExecCaptureOutput),
            // ActorAgent's downstream extension arguments (QAPI's __RFQDN_ rule); qemu-ga clients never send them
            Opt("__org.actoragent_timeout", NumberType.Instance),
            Opt("__org.actoragent_working-directory", StringType.Instance),
            Opt("__org.actoragent_keep-result", BoolType.Instance)),
        Cmd("guest-get-host-name"),
        Cmd("guest-get-users"),
        Cmd("guest-get-timezone"),
        Cmd("guest-get-osinfo"),
        Cmd("guest-ssh-get-authorized-keys", Req("username", StringType.Instance)),
        Cmd("guest-ssh-add-authorized-keys", Req("username", StringType.Instance), Req("keys", Strings), Opt("reset", BoolType.Instance)),
        Cmd("guest-ssh-remove-authorized-keys", Req("username", StringType.Instance), Req("keys", Strings)),
        Cmd("guest-get-diskstats"),
        Cmd("guest-get-cpustats"),
        Cmd("guest-get-load"),
        Cmd("guest-network-get-route"),
    ]);

    public static IReadOnlyList<CommandSchema> Commands => Standard.Commands;

    public static CommandSchema? Find(string name) => Standard.Find(name);
}

/// <summary>
/// An ordered, name-unique set of commands: the standard table, or the standard table plus
/// downstream extensions (e.g. `__com.example_name`) appended by <see cref="With"/>.
/// Registration order is schema order; guest-info lists it reversed.
/// </summary>
public sealed class CommandTable
{
    private readonly Dictionary<string, CommandSchema> _byName;

    public CommandTable(IEnumerable<CommandSchema> commands)
    {
        Commands = commands.ToArray();
        _byName = new Dictionary<string, CommandSchema>(StringComparer.Ordinal);
        foreach (var c in Commands)
            if (!_byName.TryAdd(c.Name, c))
                throw new ArgumentException($"command '{c.Name}' is defined twice", nameof(commands));
    }

    public IReadOnlyList<CommandSchema> Commands { get; }

    public CommandSchema? Find(string name) => _byName.GetValueOrDefault(name);

    /// <summary>This table followed by <paramref name="extensions"/>.</summary>
    public CommandTable With(IEnumerable<CommandSchema> extensions) => new(Commands.Concat(extensions));
}
