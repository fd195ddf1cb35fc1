namespace Agent.Host;

/// <summary>
/// qemu-ga's command line (qga/main.c, config_parse), parsed with getopt_long's rules: short options may be grouped
/// (-vr) and take their value attached or as the next word; long options take "=value" or the next
/// word and may be abbreviated to any unambiguous prefix; -F takes its optional value only attached.
/// </summary>
public sealed record CommandLine
{
    public bool Help { get; init; }
    public bool Version { get; init; }
    public bool Verbose { get; init; }
    public bool Daemonize { get; init; }
    public bool DumpConfig { get; init; }
    public bool RetryPath { get; init; }
    public string? ConfigFile { get; init; }
    public string? Method { get; init; }
    public string? Path { get; init; }
    public string? LogFile { get; init; }
    public string? PidFile { get; init; }
    public string? StateDir { get; init; }
    /// <summary>null: not given; "": given without a path (the default hook).</summary>
    public string? FsfreezeHook { get; init; }
    /// <summary>Items in qemu-ga's order: each option's comma-split chunks reversed, options in order.</summary>
    public IReadOnlyList<string> BlockRpcs { get; init; } = [];
    public IReadOnlyList<string> AllowRpcs { get; init; } = [];
    /// <summary>Deprecated spellings that were honoured, for the startup warnings.</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];

    private enum Arg { None, Required, Optional }

    private static readonly (string Long, char Short, Arg Arg)[] Options =
    [
        ("help", 'h', Arg.None), ("version", 'V', Arg.None), ("verbose", 'v', Arg.None),
        ("daemonize", 'd', Arg.None), ("config", 'c', Arg.Required), ("method", 'm', Arg.Required),
        ("path", 'p', Arg.Required), ("logfile", 'l', Arg.Required), ("pidfile", 'f', Arg.Required),
        ("fsfreeze-hook", 'F', Arg.Optional), ("block-rpcs", 'b', Arg.Required), ("allow-rpcs", 'a', Arg.Required),
        ("service", 's', Arg.Required), ("statedir", 't', Arg.Required), ("dump-conf", 'D', Arg.None),
        ("retry-path", 'r', Arg.None),
        // qemu-ga up to 7.2 spelled -b this way; accepted so that a migrated unit keeps its restrictions.
        ("blacklist", 'b', Arg.Required),
    ];

    /// <summary>Parses argv; on a bad option returns null and sets <paramref name="error"/> to getopt's message.</summary>
    public static CommandLine? Parse(IReadOnlyList<string> args, out string? error)
    {
        error = null;
        var result = new CommandLine();
        for (var i = 0; i < args.Count; i++)
        {
            var word = args[i];
            if (word == "--") break;
            if (word.StartsWith("--", StringComparison.Ordinal))
            {
                var body = word[2..];
                var eq = body.IndexOf('=');
                var name = eq < 0 ? body : body[..eq];
                var matches = Options.Where(o => o.Long.StartsWith(name, StringComparison.Ordinal)).ToArray();
                var exact = matches.Where(o => o.Long == name).ToArray();
                if (exact.Length == 1) matches = exact;
                // getopt_long: prefixes of several names for the same option are not ambiguous (--bl).
                if (matches.Length > 1 && matches.All(o => o.Short == matches[0].Short && o.Arg == matches[0].Arg)) matches = [matches[0]];
                if (matches.Length != 1)
                {
                    error = matches.Length == 0 ? $"unrecognized option '{word}'" : $"option '{word}' is ambiguous";
                    return null;
                }
                var opt = matches[0];
                string? value = eq < 0 ? null : body[(eq + 1)..];
                if (opt.Arg == Arg.None && value is not null)
                {
                    error = $"option '--{opt.Long}' doesn't allow an argument";
                    return null;
                }
                if (opt.Arg == Arg.Required && value is null)
                {
                    if (i + 1 >= args.Count)
                    {
                        error = $"option '--{opt.Long}' requires an argument";
                        return null;
                    }
                    value = args[++i];
                }
                result = result.Apply(opt.Short, value);
                if (opt.Long == "blacklist")
                    result = result with { Warnings = [.. result.Warnings, "option '--blacklist' is deprecated, use '--block-rpcs' instead"] };
            }
            else if (word.Length > 1 && word[0] == '-')
            {
                for (var j = 1; j < word.Length; j++)
                {
                    var c = word[j];
                    var found = Options.Where(o => o.Short == c).ToArray();
                    if (found.Length == 0)
                    {
                        error = $"invalid option -- '{c}'";
                        return null;
                    }
                    var opt = found[0];
                    if (opt.Arg == Arg.None)
                    {
                        result = result.Apply(c, null);
                        continue;
                    }
                    string? value = j + 1 < word.Length ? word[(j + 1)..] : null;
                    if (value is null && opt.Arg == Arg.Required)
                    {
                        if (i + 1 >= args.Count)
                        {
                            error = $"option requires an argument -- '{c}'";
                            return null;
                        }
                        value = args[++i];
                    }
                    result = result.Apply(c, value);
                    break;
                }
            }
            // Non-option words are ignored, as qemu-ga ignores them.
        }
        return result;
    }

    private CommandLine Apply(char option, string? value) => option switch
    {
        'h' => this with { Help = true },
        'V' => this with { Version = true },
        'v' => this with { Verbose = true },
        'd' => this with { Daemonize = true },
        'D' => this with { DumpConfig = true },
        'r' => this with { RetryPath = true },
        'c' => this with { ConfigFile = value },
        'm' => this with { Method = value },
        'p' => this with { Path = value },
        'l' => this with { LogFile = value },
        'f' => this with { PidFile = value },
        't' => this with { StateDir = value },
        'F' => this with { FsfreezeHook = value ?? "" },
        'b' => this with { BlockRpcs = [.. BlockRpcs, .. SplitList(value!)] },
        'a' => this with { AllowRpcs = [.. AllowRpcs, .. SplitList(value!)] },
        _ => this, // -s (Windows service) has no meaning on Linux
    };

    /// <summary>qemu-ga splits on ',' and prepends each chunk, so one option's items come out reversed.</summary>
    public static IEnumerable<string> SplitList(string value) => value.Split(',').Reverse();

    public static string Usage(string argv0) => $"""
        Usage: {argv0} [-m <method> -p <path>] [<options>]
        ActorAgent, a QEMU Guest Agent {Agent.Actors.Commands.Control.InfoActor.Version}

          -c, --config=PATH qemu-ga's keyfile, read instead of $QGA_CONF or
                            /etc/qemu/qemu-ga.conf; ActorAgent's own HOCON file
                            ($ACTORAGENT_CONF, else /etc/actoragent/agent.conf)
                            is always read on top of it
          -m, --method      transport method: one of unix-listen, virtio-serial,
                            isa-serial, or vsock-listen (virtio-serial is the default)
          -p, --path        device/socket path (the default for virtio-serial is:
                            {Agent.Actors.Channel.Transports.VirtioDefaultPath},
                            the default for isa-serial is:
                            {Agent.Actors.Channel.Transports.IsaDefaultPath}).
                            Socket addresses for vsock-listen are written as
                            <cid>:<port>.
          -l, --logfile     set logfile path, logs to stderr by default
          -f, --pidfile     specify pidfile (default is /var/run/qemu-ga.pid)
          -F, --fsfreeze-hook
                            enable fsfreeze hook. Accepts an optional argument that
                            specifies script to run on freeze/thaw. Script will be
                            called with 'freeze'/'thaw' arguments accordingly.
                            (default is /etc/qemu/fsfreeze-hook)
                            If using -F with an argument, do not follow -F with a
                            space.
                            (for example: -F/var/run/fsfreezehook.sh)
          -t, --statedir    specify dir to store state information (absolute paths
                            only, default is /var/run)
          -v, --verbose     log extra debugging information
          -V, --version     print version information and exit
          -d, --daemonize   become a daemon
          -b, --block-rpcs  comma-separated list of RPCs to disable (no spaces,
                            use "help" to list available RPCs)
          -a, --allow-rpcs  comma-separated list of RPCs to enable (no spaces,
                            use "help" to list available RPCs)
          -D, --dump-conf   dump a qemu-ga config file based on current config
                            options / command-line parameters to stdout
          -r, --retry-path  attempt re-opening path if it's unavailable or closed
                            due to an error which may be recoverable
          -h, --help        display this help and exit

        """;
}
