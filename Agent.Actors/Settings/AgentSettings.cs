using Akka.Configuration;

namespace Agent.Actors.Settings;

/// <summary>
/// Everything under <c>agent { }</c>, parsed once from the layered HOCON (reference.conf ←
/// operator file ← command line). Actors receive these records through their Props and never
/// read the Config themselves.
/// </summary>
public sealed record AgentSettings(
    ChannelSettings Channel,
    DispatchSettings Dispatch,
    RpcSettings Rpc,
    PathSettings Paths,
    HelperSettings Helpers,
    ProcessSettings Processes,
    PowerSettings Power,
    ExecSettings Exec,
    FilesSettings Files,
    InventorySettings Inventory,
    FreezeSettings Freeze,
    SshSettings Ssh,
    string StateDir,
    string PidFile,
    string LogFile,
    bool Verbose,
    AuditSettings Audit,
    PolicySettings Policy)
{
    /// <summary>agent.memory (an init property so positional construction elsewhere stays as it is).</summary>
    public MemorySettings Memory { get; init; } = MemorySettings.Default;

    /// <summary>The embedded defaults (hocon/reference.conf), parsed once: a start used to parse them twice
    /// (the configuration's fallback, then <see cref="Create"/>'s), ~3% of its CPU (bench/README.md).
    /// Config is immutable (WithFallback copies), so one instance serves every caller.</summary>
    public static Config DefaultConfig() => Defaults.Value;

    private static readonly Lazy<Config> Defaults = new(() =>
    {
        using var stream = typeof(AgentSettings).Assembly.GetManifestResourceStream("Agent.reference.conf")
            ?? throw new InvalidOperationException("embedded reference.conf is missing");
        using var reader = new StreamReader(stream);
        return HoconSubset.Parse(reader.ReadToEnd());
    });

    /// <summary>Parses <paramref name="config"/> with the embedded defaults as fallback.</summary>
    public static AgentSettings Create(Config config) => FromLayered(Flattened(config.WithFallback(DefaultConfig())));

    /// <summary>
    /// The same configuration as one tree without a fallback chain. WithFallback merges the whole tree already, so
    /// every value reads the same; only Config.GetConfig, which the settings below and Akka call for each section,
    /// would merge the section with every configuration of the chain again (bench/README.md, "Start-up share, round 4").
    /// </summary>
    public static Config Flattened(Config layered) => layered.Root.ToConfig();

    /// <summary>
    /// Parses a configuration that has the embedded defaults layered in already and is <see cref="Flattened"/>
    /// (AgentConfiguration.Load's), without <see cref="Create"/>'s WithFallback, whose check for the defaults walks
    /// the whole tree; each section is then read from the merged tree alone (1.2 M instructions of a start less).
    /// </summary>
    public static AgentSettings FromLayered(Config layered)
    {
        var c = layered.GetConfig("agent");
        return new AgentSettings(
            ChannelSettings.Create(c.GetConfig("channel")),
            DispatchSettings.Create(c.GetConfig("dispatch")),
            RpcSettings.Create(c.GetConfig("rpc")),
            PathSettings.Create(c.GetConfig("paths")),
            HelperSettings.Create(c.GetConfig("helpers")),
            ProcessSettings.Create(c.GetConfig("processes")),
            PowerSettings.Create(c),
            ExecSettings.Create(c.GetConfig("exec")),
            FilesSettings.Create(c.GetConfig("files")),
            InventorySettings.Create(c),
            FreezeSettings.Create(c.GetConfig("fsfreeze")),
            SshSettings.Create(c.GetConfig("ssh")),
            c.GetString("state-dir"),
            c.GetString("pidfile"),
            c.GetString("logfile"),
            c.GetBoolean("verbose"),
            AuditSettings.Create(c.GetConfig("audit")),
            PolicySettings.Create(c.GetConfig("policy"))) { Memory = MemorySettings.Create(c.GetConfig("memory")) };
    }
}

public sealed record ChannelSettings(
    string Method,
    string Path,
    bool RetryPath,
    TimeSpan RetryInterval,
    TimeSpan DisconnectBackoff,
    int ReadSize,
    long RequestBudget,
    long ReplyBudget,
    TimeSpan WriteTimeout,
    long MaxReplyBytes)
{
    public static ChannelSettings Create(Config c) => new(
        c.GetString("method"),
        c.GetString("path"),
        c.GetBoolean("retry-path"),
        c.GetTimeSpan("retry-interval"),
        c.GetTimeSpan("disconnect-backoff"),
        c.GetInt("read-size"),
        Limits.Bytes(c, "agent.channel", "request-budget"),
        Limits.Bytes(c, "agent.channel", "reply-budget"),
        c.GetTimeSpan("write-timeout"),
        Limits.Bytes(c, "agent.channel", "max-reply-bytes"));
}

/// <summary>Reads the limits in HOCON; a limit that is zero or negative is a configuration error naming its key.</summary>
internal static class Limits
{
    /// <summary>A HOCON size (10MiB, or a plain number of bytes).</summary>
    public static long Bytes(Config c, string section, string key) =>
        c.GetByteSize(key) is { } bytes and > 0 ? bytes : throw new ConfigurationException($"{section}.{key} must be a size above zero");

    public static int Count(Config c, string section, string key) =>
        c.GetInt(key) is var count and > 0 ? count : throw new ConfigurationException($"{section}.{key} must be a number above zero");

    public static TimeSpan Duration(Config c, string section, string key) =>
        c.GetTimeSpan(key) is var duration && duration > TimeSpan.Zero ? duration
            : throw new ConfigurationException($"{section}.{key} must be a duration above zero");
}

/// <param name="Deadline">How long a command may run before the host gets an error instead.</param>
/// <param name="Deadlines">Per-command deadlines overriding <paramref name="Deadline"/>.</param>
/// <param name="AbandonGrace">How long a family may take to abandon a command after its deadline.</param>
public sealed record DispatchSettings(TimeSpan Deadline, IReadOnlyDictionary<string, TimeSpan> Deadlines, TimeSpan AbandonGrace)
{
    public static DispatchSettings Create(Config c) => new(
        c.GetTimeSpan("deadline"),
        c.GetConfig("deadlines").AsEnumerable().ToDictionary(e => e.Key.Trim('"'), e => e.Value.GetTimeSpan()),
        c.GetTimeSpan("abandon-grace"));

    /// <summary>The deadline of <paramref name="command"/> (no allocation: it is read per request).</summary>
    public TimeSpan DeadlineFor(string command) => Deadlines.TryGetValue(command, out var own) ? own : Deadline;

    /// <summary>The deadline of <paramref name="command"/> and the key an operator changes to move it.</summary>
    public (TimeSpan Deadline, string Key) DeadlineOf(string command) =>
        Deadlines.TryGetValue(command, out var own)
            ? (own, $"agent.dispatch.deadlines.{command}")
            : (Deadline, "agent.dispatch.deadline");
}

public sealed record RpcSettings(IReadOnlyList<string> Block, IReadOnlyList<string> Allow)
{
    public static RpcSettings Create(Config c) =>
        new(c.GetStringList("block").ToArray(), c.GetStringList("allow").ToArray());
}

/// <summary>Roots of the guest's pseudo filesystems and config; tests point them at fake trees.</summary>
public sealed record PathSettings(string Sysfs, string Procfs, string Etc, string Dev)
{
    public static PathSettings Create(Config c) =>
        new(c.GetString("sysfs"), c.GetString("procfs"), c.GetString("etc"), c.GetString("dev"));
}

/// <param name="Timeout">How long hwclock and chpasswd may run before they are killed.</param>
public sealed record HelperSettings(IReadOnlyList<string> SearchPath, TimeSpan Timeout)
{
    public static HelperSettings Create(Config c) => new(c.GetStringList("path").ToArray(), c.GetTimeSpan("timeout"));

    /// <summary>The first executable file named <paramref name="program"/> on the search path, or null.</summary>
    public string? Find(string program)
    {
        foreach (var dir in SearchPath)
        {
            var candidate = System.IO.Path.Combine(dir, program);
            if (File.Exists(candidate) &&
                (File.GetUnixFileMode(candidate) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0)
                return candidate;
        }
        return null;
    }
}
