using Agent.Actors.Commands.Exec;
using Agent.Actors.Commands.Freeze;
using Agent.Actors.Commands.Power;
using Agent.Actors.Processes;
using Akka.Configuration;

namespace Agent.Actors.Settings;

/// <summary>
/// Everything under <c>agent { }</c>, parsed once from the layered HOCON (reference.conf ←
/// operator file ← command line). Actors receive these records through their Props and never
/// read the Config themselves.
/// </summary>
public sealed record AgentSettings(
    ChannelSettings Channel,
    RpcSettings Rpc,
    PathSettings Paths,
    HelperSettings Helpers,
    ProcessSettings Processes,
    PowerSettings Power,
    ExecSettings Exec,
    InventorySettings Inventory,
    FreezeSettings Freeze,
    string StateDir,
    string PidFile,
    string LogFile,
    bool Verbose)
{
    /// <summary>agent.memory (an init property so positional construction elsewhere stays as it is).</summary>
    public MemorySettings Memory { get; init; } = MemorySettings.Default;

    /// <summary>The embedded defaults (hocon/reference.conf).</summary>
    public static Config DefaultConfig()
    {
        using var stream = typeof(AgentSettings).Assembly.GetManifestResourceStream("Agent.reference.conf")
            ?? throw new InvalidOperationException("embedded reference.conf is missing");
        using var reader = new StreamReader(stream);
        return ConfigurationFactory.ParseString(reader.ReadToEnd());
    }

    /// <summary>Parses <paramref name="config"/> with the embedded defaults as fallback.</summary>
    public static AgentSettings Create(Config config)
    {
        var c = config.WithFallback(DefaultConfig()).GetConfig("agent");
        return new AgentSettings(
            ChannelSettings.Create(c.GetConfig("channel")),
            RpcSettings.Create(c.GetConfig("rpc")),
            PathSettings.Create(c.GetConfig("paths")),
            HelperSettings.Create(c.GetConfig("helpers")),
            ProcessSettings.Create(c.GetConfig("processes")),
            PowerSettings.Create(c),
            ExecSettings.Create(c.GetConfig("exec")),
            InventorySettings.Create(c),
            FreezeSettings.Create(c.GetConfig("fsfreeze")),
            c.GetString("state-dir"),
            c.GetString("pidfile"),
            c.GetString("logfile"),
            c.GetBoolean("verbose")) { Memory = MemorySettings.Create(c.GetConfig("memory")) };
    }
}

public sealed record ChannelSettings(
    string Method,
    string Path,
    bool RetryPath,
    TimeSpan RetryInterval,
    TimeSpan DisconnectBackoff,
    int ReadSize,
    int MaxQueuedRequests,
    TimeSpan WriteTimeout)
{
    public static ChannelSettings Create(Config c) => new(
        c.GetString("method"),
        c.GetString("path"),
        c.GetBoolean("retry-path"),
        c.GetTimeSpan("retry-interval"),
        c.GetTimeSpan("disconnect-backoff"),
        c.GetInt("read-size"),
        c.GetInt("max-queued-requests"),
        c.GetTimeSpan("write-timeout"));
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
