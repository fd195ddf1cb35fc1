using Agent.Actors.Processes;
using Agent.Actors.Settings;
using Agent.Protocol.Envelope;
using Agent.Protocol.Json;
using Agent.Protocol.Schema;

namespace Agent.Actors.Policy;

/// <summary>
/// The per-argument policy (agent.policy), checked by the dispatcher after the schema check and before
/// the command runs: which programs guest-exec may start and which variables it may set, under which
/// paths guest-file-open may read or write, whose password and authorized_keys may be changed. A
/// violation is a GenericError that names the HOCON key of the rule. A rule that allows everything
/// (the defaults) is not evaluated at all, so the default agent behaves exactly as qemu-ga.
/// </summary>
public sealed class ArgumentPolicy
{
    private const string AnyPath = "**";
    private const string AnyName = "*";

    private readonly PolicySettings _settings;
    private readonly Func<string, string, string> _resolve;
    private readonly bool _anyExecutable, _anyEnvironment, _anyRead, _anyWrite;

    /// <summary>The rules that restrict something, by command; each reads its command's typed arguments.</summary>
    private readonly Dictionary<string, Func<JsonObject, string?>> _rules = new(StringComparer.Ordinal);

    /// <param name="resolve"><see cref="RealPath.Resolve"/> unless a spec needs a path that resolves slowly.</param>
    public ArgumentPolicy(PolicySettings settings, Func<string, string, string>? resolve = null)
    {
        _settings = settings;
        _resolve = resolve ?? RealPath.Resolve;
        _anyExecutable = settings.Executables.Contains(AnyPath);
        _anyEnvironment = settings.Environment.Contains(AnyName);
        _anyRead = settings.ReadPrefixes.Contains("/");
        _anyWrite = settings.WritePrefixes.Contains("/");
        if (!_anyExecutable || !_anyEnvironment) Rule<GuestExecArguments>(CheckExec);
        if (!_anyRead || !_anyWrite) Rule<GuestFileOpenArguments>(CheckFileOpen);
        if (!settings.PasswordUsers.Contains(AnyName))
            Rule<GuestSetUserPasswordArguments>(a => CheckUser(a.Username, settings.PasswordUsers, PolicySettings.PasswordUsersKey));
        if (!settings.SshUsers.Contains(AnyName))
        {
            Rule<GuestSshAddAuthorizedKeysArguments>(a => CheckUser(a.Username, settings.SshUsers, PolicySettings.SshUsersKey));
            Rule<GuestSshRemoveAuthorizedKeysArguments>(a => CheckUser(a.Username, settings.SshUsers, PolicySettings.SshUsersKey));
        }
    }

    private void Rule<TArgs>(Func<TArgs, string?> check) where TArgs : ICommandArguments<TArgs> =>
        _rules[TArgs.Command] = arguments => check(TArgs.Bind(arguments));

    /// <summary>
    /// Whether checking <paramref name="command"/> reads the filesystem (the PATH walk of a restricted
    /// guest-exec, the path resolution of a restricted guest-file-open): a hung mount would block the
    /// caller, so the dispatcher runs such checks on a thread of their own.
    /// </summary>
    public bool ReadsFilesystem(string command) =>
        (command == GuestExecArguments.Command && !_anyExecutable) ||
        (command == GuestFileOpenArguments.Command && (!_anyRead || !_anyWrite));

    /// <summary>
    /// Null when <paramref name="command"/> may run with <paramref name="arguments"/> (already checked
    /// against its schema), else the refusal.
    /// </summary>
    public QmpError? Check(string command, JsonObject arguments) =>
        _rules.TryGetValue(command, out var rule) && rule(arguments) is { } refusal
            ? QmpError.Generic($"{command}: {refusal}")
            : null;

    private string? CheckExec(GuestExecArguments args)
    {
        var environment = args.Env;
        if (!_anyEnvironment && environment is not null)
            foreach (var entry in environment)
            {
                var name = entry.Split('=', 2)[0];
                if (!_settings.Environment.Any(p => Glob.Matches(p, name)))
                    return $"environment variable '{Printable(name)}' is not allowed by {PolicySettings.EnvironmentKey}";
            }
        if (_anyExecutable) return null;

        var path = args.Path;
        if (path.Contains('\0'))
            return $"'{Printable(path)}' contains a NUL character, which {PolicySettings.ExecutablesKey} cannot allow";
        string program;
        if (!path.Contains('/'))
        {
            // The lookup guest-exec itself does: env's PATH when env is given, else the agent's.
            var found = ExecutableSearch.Find(path, ExecutableSearch.SearchPath(environment ?? []), out _);
            if (found is null)
                return $"'{Printable(path)}' is not found on PATH, so {PolicySettings.ExecutablesKey} cannot allow it";
            program = Path.GetFullPath(found);
        }
        else
        {
            var baseDirectory = args.WorkingDirectory ?? Environment.CurrentDirectory;
            program = Path.GetFullPath(path, Path.GetFullPath(baseDirectory));
        }
        return _settings.Executables.Any(pattern => Glob.Matches(pattern, program))
            ? null
            : $"'{Printable(program)}' is not allowed by {PolicySettings.ExecutablesKey}";
    }

    private string? CheckFileOpen(GuestFileOpenArguments args)
    {
        var mode = args.Mode ?? "r";
        // fopen's modes: r reads, w and a write, '+' does both; an invalid mode counts as both.
        var valid = mode.Length > 0 && mode[0] is 'r' or 'w' or 'a';
        var reads = !valid || mode[0] == 'r' || mode.Contains('+');
        var writes = !valid || mode[0] != 'r' || mode.Contains('+');
        if ((!reads || _anyRead) && (!writes || _anyWrite)) return null;

        var path = args.Path;
        if (path.Contains('\0'))
            return $"'{Printable(path)}' contains a NUL character, which {(reads && !_anyRead ? PolicySettings.ReadKey : PolicySettings.WriteKey)} cannot allow";
        string resolved;
        try
        {
            resolved = _resolve(path, Environment.CurrentDirectory);
        }
        catch (IOException ex)
        {
            return $"'{Printable(path)}' cannot be resolved ({ex.Message})";
        }
        if (reads && !_anyRead && !UnderAny(resolved, _settings.ReadPrefixes))
            return $"reading {Describe(path, resolved)} is not allowed by {PolicySettings.ReadKey}";
        if (writes && !_anyWrite && !UnderAny(resolved, _settings.WritePrefixes))
            return $"writing {Describe(path, resolved)} is not allowed by {PolicySettings.WriteKey}";
        return null;
    }

    /// <summary>The prefixes are resolved too, so a root-owned link such as /home → /var/home keeps working.</summary>
    private bool UnderAny(string resolved, IEnumerable<string> prefixes) =>
        prefixes.Any(prefix => RealPath.IsUnder(resolved, prefix) || RealPath.IsUnder(resolved, ResolveOrSelf(prefix)));

    private string ResolveOrSelf(string prefix)
    {
        try { return _resolve(prefix, "/"); }
        catch (IOException) { return prefix; }
    }

    private static string Describe(string path, string resolved) =>
        path == resolved ? $"'{Printable(path)}'" : $"'{Printable(path)}' (resolved to '{Printable(resolved)}')";

    private static string? CheckUser(string user, IReadOnlyList<string> allowed, string key) =>
        allowed.Any(p => Glob.Matches(p, user)) ? null : $"user '{Printable(user)}' is not allowed by {key}";

    /// <summary>Error texts go to the host and the log: control characters are shown, not sent.</summary>
    private static string Printable(string text) =>
        string.Concat(text.Select(c => char.IsControl(c) ? $"\\u{(int)c:x4}" : c.ToString()));
}
