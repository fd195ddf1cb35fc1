using System.Text;
using Agent.Actors.Channel;
using Agent.Actors.Commands.Freeze;
using Agent.Actors.Settings;
using Akka.Configuration;

namespace Agent.Host;

/// <summary>
/// The effective configuration, in layers, lowest first (README, "Configuration"): the embedded
/// reference.conf; qemu-ga's keyfile (-c, else $QGA_CONF, else /etc/qemu/qemu-ga.conf), so an existing
/// qemu-ga configuration keeps working, restrictions included; ActorAgent's own HOCON file
/// ($ACTORAGENT_CONF, else /etc/actoragent/agent.conf), always read when present; the command line.
/// Block and allow lists accumulate over all layers. Keys qemu-ga no longer knows but once honoured
/// (blacklist=, --blacklist) still block, with a warning; keys it never knew are warned about.
/// </summary>
public sealed class AgentConfiguration
{
    public const string QemuConfigPath = "/etc/qemu/qemu-ga.conf";
    public const string AgentConfigPath = "/etc/actoragent/agent.conf";

    /// <summary>All layers as one merged tree (<see cref="AgentSettings.Flattened"/>).</summary>
    public required Config Config { get; init; }
    public required AgentSettings Settings { get; init; }
    public required CommandLine CommandLine { get; init; }
    /// <summary>Block/allow lists as qemu-ga keeps them, for -D.</summary>
    public required IReadOnlyList<string> BlockRpcs { get; init; }
    public required IReadOnlyList<string> AllowRpcs { get; init; }
    public required bool Daemonize { get; init; }
    /// <summary>The files merged, lowest first, as -D names them.</summary>
    public required IReadOnlyList<string> Layers { get; init; }
    /// <summary>Texts for glib-style warnings at startup.</summary>
    public required IReadOnlyList<string> Warnings { get; init; }

    /// <summary>Loads and layers; throws <see cref="ConfigurationError"/> with qemu-ga's text.</summary>
    public static AgentConfiguration Load(CommandLine cli, string? qgaConfEnv, string? agentConfEnv = null)
    {
        var warnings = new List<string>();
        var layers = new List<string>();

        var qemuPath = cli.ConfigFile ?? qgaConfEnv ?? QemuConfigPath;
        var qemu = Config.Empty;
        IReadOnlyList<string> qemuBlock = [], qemuAllow = [];
        var qemuDaemon = false;
        if (File.Exists(qemuPath) || cli.ConfigFile is not null)
        {
            var text = Read(qemuPath);
            try
            {
                if (KeyFile.Looks(text))
                {
                    (qemu, qemuBlock, qemuAllow, qemuDaemon) = FromKeyFile(KeyFile.Parse(text), warnings);
                    layers.Add($"{qemuPath} (qemu-ga keyfile)");
                }
                else
                {
                    // Earlier ActorAgent releases documented -c for HOCON; such a file still works here.
                    (qemu, qemuBlock, qemuAllow) = FromHocon(text);
                    layers.Add($"{qemuPath} (HOCON)");
                }
            }
            catch (Exception ex) when (ex is not ConfigurationError)
            {
                throw new ConfigurationError($"error loading configuration from path: {qemuPath}, {ex.Message}");
            }
        }

        var agentPath = agentConfEnv ?? AgentConfigPath;
        var agent = Config.Empty;
        IReadOnlyList<string> agentBlock = [], agentAllow = [];
        if (File.Exists(agentPath))
        {
            var text = Read(agentPath);
            try { (agent, agentBlock, agentAllow) = FromHocon(text); }
            catch (Exception ex) { throw new ConfigurationError($"error loading configuration from path: {agentPath}, {ex.Message}"); }
            layers.Add($"{agentPath} (ActorAgent HOCON)");
        }
        warnings.AddRange(cli.Warnings);

        var block = qemuBlock.Concat(agentBlock).Concat(cli.BlockRpcs).ToArray();
        var allow = qemuAllow.Concat(agentAllow).Concat(cli.AllowRpcs).ToArray();
        var overrides = new StringBuilder();
        void Set(string key, string? value)
        {
            if (value is not null) overrides.Append(key).Append(" = ").Append(HoconString(value)).Append('\n');
        }
        Set("agent.channel.method", cli.Method);
        Set("agent.channel.path", cli.Path);
        Set("agent.state-dir", cli.StateDir);
        Set("agent.pidfile", cli.PidFile);
        Set("agent.logfile", cli.LogFile);
        // -F with no path means qemu-ga's default hook.
        Set("agent.fsfreeze.hook", cli.FsfreezeHook is { } hook ? hook.Length > 0 ? hook : FreezeSettings.DefaultHook : null);
        if (cli.Verbose) overrides.Append("agent.verbose = true\n");
        if (cli.RetryPath) overrides.Append("agent.channel.retry-path = true\n");
        overrides.Append("agent.rpc.block = ").Append(HoconList(block)).Append('\n');
        overrides.Append("agent.rpc.allow = ").Append(HoconList(allow)).Append('\n');

        var config = AgentSettings.Flattened(HoconSubset.Parse(overrides.ToString())
            .WithFallback(agent)
            .WithFallback(qemu)
            .WithFallback(AgentSettings.DefaultConfig()));
        var settings = AgentSettings.FromLayered(config);
        if (!Transports.Methods.Contains(settings.Channel.Method))
            throw new ConfigurationError($"unsupported channel method/type: {settings.Channel.Method}");
        if (settings.Channel.Path.Length == 0)
        {
            var defaultPath = Transports.DefaultPath(settings.Channel.Method);
            if (defaultPath is null && !cli.DumpConfig)
                throw new ConfigurationError("must specify a path for this channel");
            if (defaultPath is not null)
                settings = settings with { Channel = settings.Channel with { Path = defaultPath } };
        }
        return new AgentConfiguration
        {
            Config = config,
            Settings = settings,
            CommandLine = cli,
            BlockRpcs = block,
            AllowRpcs = allow,
            Daemonize = cli.Daemonize || qemuDaemon,
            Layers = layers,
            Warnings = warnings,
        };
    }

    private static string Read(string path)
    {
        try { return File.ReadAllText(path); }
        catch (Exception ex) { throw new ConfigurationError($"error loading configuration from path: {path}, {ex.Message}"); }
    }

    private static (Config, IReadOnlyList<string>, IReadOnlyList<string>) FromHocon(string text)
    {
        var c = ConfigurationFactory.ParseString(text);
        var (block, allow) = (ListOrEmpty(c, "agent.rpc.block"), ListOrEmpty(c, "agent.rpc.allow"));
        // The HOCON parser lets an unterminated list through as nulls; a restriction list must be whole.
        if (block.Concat(allow).Any(name => name is null)) throw new FormatException("agent.rpc.block/allow is not a list of command names");
        return (c, block, allow);
    }

    private static IReadOnlyList<string> ListOrEmpty(Config c, string key) =>
        c.HasPath(key) ? c.GetStringList(key).ToArray() : [];

    /// <summary>
    /// A quoted HOCON string: quote and backslash escaped, control characters as \uXXXX. Not through
    /// JsonEncodedText, whose encoder tables cost ~0.4 ms of every start (bench/README.md, "Start-up share").
    /// </summary>
    private static string HoconString(string value)
    {
        var quoted = new StringBuilder(value.Length + 2).Append('"');
        foreach (var c in value)
        {
            if (c is '"' or '\\') quoted.Append('\\').Append(c);
            else if (c < ' ' || c == '\u007f') quoted.Append("\\u").Append(((int)c).ToString("x4"));
            else quoted.Append(c);
        }
        return quoted.Append('"').ToString();
    }

    private static string HoconList(IEnumerable<string> values) => '[' + string.Join(", ", values.Select(HoconString)) + ']';

    /// <summary>The [general] keys qemu-ga reads (qga/main.c, config_load), blacklist included.</summary>
    private static readonly string[] KnownKeys =
    [
        "daemon", "method", "path", "logfile", "pidfile", "fsfreeze-hook", "statedir", "verbose", "retry-path",
        "block-rpcs", "allow-rpcs", "blacklist",
    ];

    private static (Config, IReadOnlyList<string>, IReadOnlyList<string>, bool) FromKeyFile(KeyFile kf, List<string> warnings)
    {
        var sb = new StringBuilder();
        void Map(string key, string hocon)
        {
            if (kf.Get(key) is { } v) sb.Append(hocon).Append(" = ").Append(HoconString(v)).Append('\n');
        }
        void MapBool(string key, string hocon)
        {
            if (kf.GetBool(key) is { } b) sb.Append(hocon).Append(" = ").Append(b ? "true" : "false").Append('\n');
        }
        Map("method", "agent.channel.method");
        Map("path", "agent.channel.path");
        Map("logfile", "agent.logfile");
        Map("pidfile", "agent.pidfile");
        Map("statedir", "agent.state-dir");
        MapBool("verbose", "agent.verbose");
        MapBool("retry-path", "agent.channel.retry-path");
        // An empty fsfreeze-hook means qemu-ga's default hook.
        if (kf.Get("fsfreeze-hook") is { } hook)
            sb.Append("agent.fsfreeze.hook = ").Append(HoconString(hook.Length > 0 ? hook : FreezeSettings.DefaultHook)).Append('\n');
        // block-rpcs is one string split on ',' (not a GKeyFile ';' list): test-qga relies on the raw text surviving.
        var block = kf.Get("block-rpcs") is { } b ? CommandLine.SplitList(b).ToList() : [];
        if (kf.Get("blacklist") is { } legacy)
        {
            // qemu-ga 7.2's text; HEAD dropped the key, but a restriction must not vanish in a migration.
            warnings.Add("config using deprecated 'blacklist' key, should be replaced with the 'block-rpcs' key.");
            block.AddRange(CommandLine.SplitList(legacy));
        }
        var allow = kf.Get("allow-rpcs") is { } a ? CommandLine.SplitList(a).ToArray() : [];
        foreach (var key in kf.Keys.Where(k => !KnownKeys.Contains(k)))
            warnings.Add($"config: unknown key '{key}' in group [general] is ignored");
        foreach (var group in kf.OtherGroups)
            warnings.Add($"config: group [{group}] is ignored");
        return (HoconSubset.Parse(sb.ToString()), block, allow, kf.GetBool("daemon") ?? false);
    }

    /// <summary>-D: the effective configuration as qemu-ga's keyfile, keys in its fixed order (qga/main.c, config_dump).</summary>
    public string DumpKeyFile()
    {
        var s = Settings;
        var sb = new StringBuilder();
        // Comments, so the output stays a keyfile qemu-ga (and test-qga) reads unchanged.
        foreach (var layer in Layers) sb.Append("# merged: ").Append(layer).Append('\n');
        sb.Append("[general]\n");
        sb.Append("daemon=").Append(Daemonize ? "true" : "false").Append('\n');
        sb.Append("method=").Append(s.Channel.Method).Append('\n');
        sb.Append("path=").Append(s.Channel.Path).Append('\n');
        if (s.LogFile.Length > 0) sb.Append("logfile=").Append(s.LogFile).Append('\n');
        sb.Append("pidfile=").Append(s.PidFile).Append('\n');
        if (s.Freeze.Hook is { } hook) sb.Append("fsfreeze-hook=").Append(hook).Append('\n');
        sb.Append("statedir=").Append(s.StateDir).Append('\n');
        sb.Append("verbose=").Append(s.Verbose ? "true" : "false").Append('\n');
        sb.Append("retry-path=").Append(s.Channel.RetryPath ? "true" : "false").Append('\n');
        // qemu-ga re-joins its (reversed) list with ','; reversing back restores the text as written.
        sb.Append("block-rpcs=").Append(string.Join(',', BlockRpcs.Reverse())).Append('\n');
        sb.Append("allow-rpcs=").Append(string.Join(',', AllowRpcs.Reverse())).Append('\n');
        return sb.ToString();
    }
}

public sealed class ConfigurationError(string message) : Exception(message);

/// <summary>The small part of GKeyFile that qemu-ga's [general] group uses.</summary>
public sealed class KeyFile
{
    private readonly Dictionary<string, string> _general = new();
    private readonly List<string> _otherGroups = [];

    /// <summary>A keyfile starts (after comments and blank lines) with a [group] line.</summary>
    public static bool Looks(string text) =>
        text.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.Length > 0 && !l.StartsWith('#')) is { } first
        && first.StartsWith('[');

    public static KeyFile Parse(string text)
    {
        var kf = new KeyFile();
        string? group = null;
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.TrimEnd('\r').TrimStart();
            if (line.Length == 0 || line.StartsWith('#')) continue;
            if (line.StartsWith('['))
            {
                if (!line.EndsWith(']')) throw new FormatException($"Key file contains line “{line}” which is not a key-value pair, group, or comment");
                group = line[1..^1];
                if (group != "general" && !kf._otherGroups.Contains(group)) kf._otherGroups.Add(group);
                continue;
            }
            var eq = line.IndexOf('=');
            if (eq <= 0 || group is null)
                throw new FormatException($"Key file contains line “{line}” which is not a key-value pair, group, or comment");
            if (group == "general") kf._general[line[..eq].TrimEnd()] = line[(eq + 1)..].TrimStart();
        }
        return kf;
    }

    public string? Get(string key) => _general.GetValueOrDefault(key);

    /// <summary>The [general] keys in file order.</summary>
    public IEnumerable<string> Keys => _general.Keys;

    public IReadOnlyList<string> OtherGroups => _otherGroups;

    public bool? GetBool(string key) => Get(key) switch
    {
        null => null,
        "true" or "1" => true,
        "false" or "0" => false,
        var v => throw new FormatException($"Key file contains key “{key}” which has a value that cannot be interpreted: {v}"),
    };
}
