using System.Text;
using System.Text.Json;
using Agent.Actors.Channel;
using Agent.Actors.Commands.Freeze;
using Agent.Actors.Settings;
using Akka.Configuration;

namespace Agent.Host;

/// <summary>
/// The effective configuration: embedded reference.conf ← operator file ← command line (spec §6.1
/// processing order). The operator file is HOCON, or qemu-ga's GKeyFile with a [general] group so an
/// existing /etc/qemu/qemu-ga.conf keeps working. Block and allow lists accumulate file then CLI.
/// </summary>
public sealed class AgentConfiguration
{
    public const string QemuConfigPath = "/etc/qemu/qemu-ga.conf";

    public required Config Config { get; init; }
    public required AgentSettings Settings { get; init; }
    public required CommandLine CommandLine { get; init; }
    /// <summary>Block/allow lists as qemu-ga keeps them, for -D.</summary>
    public required IReadOnlyList<string> BlockRpcs { get; init; }
    public required IReadOnlyList<string> AllowRpcs { get; init; }
    public required bool Daemonize { get; init; }

    /// <summary>Loads and layers; throws <see cref="ConfigurationError"/> with qemu-ga's text.</summary>
    public static AgentConfiguration Load(CommandLine cli, string? qgaConfEnv)
    {
        var explicitFile = cli.ConfigFile ?? qgaConfEnv;
        var path = explicitFile ?? QemuConfigPath;
        var file = Config.Empty;
        IReadOnlyList<string> fileBlock = [], fileAllow = [];
        bool fileDaemon = false;
        string? fileHook = null;
        if (File.Exists(path) || cli.ConfigFile is not null)
        {
            string text;
            try { text = File.ReadAllText(path); }
            catch (Exception ex) { throw new ConfigurationError($"error loading configuration from path: {path}, {ex.Message}"); }
            try
            {
                if (KeyFile.Looks(text))
                {
                    var kf = KeyFile.Parse(text);
                    (file, fileBlock, fileAllow, fileDaemon, fileHook) = FromKeyFile(kf);
                }
                else
                {
                    file = ConfigurationFactory.ParseString(text);
                    fileBlock = ListOrEmpty(file, "agent.rpc.block");
                    fileAllow = ListOrEmpty(file, "agent.rpc.allow");
                }
            }
            catch (Exception ex) when (ex is not ConfigurationError)
            {
                throw new ConfigurationError($"error loading configuration from path: {path}, {ex.Message}");
            }
        }

        var block = fileBlock.Concat(cli.BlockRpcs).ToArray();
        var allow = fileAllow.Concat(cli.AllowRpcs).ToArray();
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
        var hook = cli.FsfreezeHook ?? fileHook;
        // -F with no path (or an empty fsfreeze-hook) means qemu-ga's default hook.
        Set("agent.fsfreeze.hook", hook is null ? null : hook.Length > 0 ? hook : FreezeSettings.DefaultHook);
        if (cli.Verbose) overrides.Append("agent.verbose = true\n");
        if (cli.RetryPath) overrides.Append("agent.channel.retry-path = true\n");
        overrides.Append("agent.rpc.block = ").Append(HoconList(block)).Append('\n');
        overrides.Append("agent.rpc.allow = ").Append(HoconList(allow)).Append('\n');

        var config = ConfigurationFactory.ParseString(overrides.ToString())
            .WithFallback(file)
            .WithFallback(AgentSettings.DefaultConfig());
        var settings = AgentSettings.Create(config);
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
            Daemonize = cli.Daemonize || fileDaemon,
        };
    }

    private static IReadOnlyList<string> ListOrEmpty(Config c, string key) =>
        c.HasPath(key) ? c.GetStringList(key).ToArray() : [];

    // JSON string escapes are valid HOCON; JsonEncodedText needs no reflection (NativeAOT).
    private static string HoconString(string value) => '"' + JsonEncodedText.Encode(value).ToString() + '"';

    private static string HoconList(IEnumerable<string> values) => '[' + string.Join(", ", values.Select(HoconString)) + ']';

    private static (Config, IReadOnlyList<string>, IReadOnlyList<string>, bool, string?) FromKeyFile(KeyFile kf)
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
        // block-rpcs is one string split on ',' (not a GKeyFile ';' list): test-qga relies on the raw text surviving.
        var block = kf.Get("block-rpcs") is { } b ? CommandLine.SplitList(b).ToArray() : [];
        var allow = kf.Get("allow-rpcs") is { } a ? CommandLine.SplitList(a).ToArray() : [];
        return (ConfigurationFactory.ParseString(sb.ToString()), block, allow, kf.GetBool("daemon") ?? false, kf.Get("fsfreeze-hook"));
    }

    /// <summary>-D: the effective configuration as qemu-ga's keyfile, keys in its fixed order (spec §6.2).</summary>
    public string DumpKeyFile()
    {
        var s = Settings;
        var sb = new StringBuilder("[general]\n");
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

    public bool? GetBool(string key) => Get(key) switch
    {
        null => null,
        "true" or "1" => true,
        "false" or "0" => false,
        var v => throw new FormatException($"Key file contains key “{key}” which has a value that cannot be interpreted: {v}"),
    };
}
