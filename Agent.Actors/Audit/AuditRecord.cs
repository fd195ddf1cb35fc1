using System.Globalization;
using System.Text;
using Agent.Protocol.Envelope;
using Agent.Protocol.Json;
using Agent.Protocol.Schema;

namespace Agent.Actors.Audit;

/// <summary>
/// One audit record per command that changes the guest or touches its files: a line of key=value
/// pairs (command, what it acted on, result), sent to syslog whatever the log level as qemu-ga's
/// slog() lines are (qga/main.c). Secrets never appear: a password is reduced to the user name, a key
/// to its fingerprint, file data and exec input to nothing, the environment to variable names.
/// Values with spaces, quotes, '=' or control characters are double-quoted with backslash escapes.
/// </summary>
public static class AuditRecord
{
    /// <summary>What the record says of one audited command: the arguments it acted on, then what its result adds.</summary>
    private sealed record Entry(Action<Builder, JsonObject> Describe, Action<Builder, JsonValue?> DescribeResult);

    /// <summary>The audited commands, each keyed by its arguments record; read-only commands are absent.</summary>
    private static readonly Dictionary<string, Entry> Audited = new(StringComparer.Ordinal);

    static AuditRecord()
    {
        Audit<GuestExecArguments>(DescribeExec, (r, v) =>
        {
            if (v is JsonObject o && o["pid"] is { } pid) r.Add("pid", Number(pid));
        });
        Audit<GuestExecKillArguments>((r, a) =>
        {
            r.Add("pid", Number(a.Pid));
            r.Add("signal", a.Signal is { } signal ? Number(signal) : "9");
        });
        Audit<GuestFileOpenArguments>((r, a) =>
        {
            r.Add("path", a.Path);
            r.Add("mode", a.Mode ?? "r");
        }, (r, v) =>
        {
            if (v is JsonInt handle) r.Add("handle", Number(handle));
        });
        Audit<GuestFileWriteArguments>((r, a) => r.Add("handle", Number(a.Handle)), (r, v) =>
        {
            if (v is JsonObject o && o["count"] is { } count) r.Add("count", Number(count));
        });
        Audit<GuestFileCloseArguments>((r, a) => r.Add("handle", Number(a.Handle)));
        Audit<GuestShutdownArguments>((r, a) => r.Add("mode", a.Mode ?? "powerdown"));
        Audit<GuestSuspendDiskArguments>();
        Audit<GuestSuspendRamArguments>();
        Audit<GuestSuspendHybridArguments>();
        // Without a time qemu-ga copies the hardware clock into the system clock.
        Audit<GuestSetTimeArguments>((r, a) => r.Add("time", a.Time is { } time ? Number(time) : "rtc"));
        Audit<GuestSetVcpusArguments>((r, a) => AddOnlineLists(r, a.Vcpus.Select(v => (Number(v.LogicalId), v.Online))),
            (r, v) => AddCount(r, "processed", v));
        Audit<GuestSetMemoryBlocksArguments>((r, a) => AddOnlineLists(r, a.MemBlks.Select(b => (Number(b.PhysIndex), b.Online))),
            (r, v) =>
            {
                if (v is not JsonArray responses) return;
                var failed = responses.Items.OfType<JsonObject>()
                    .Where(o => o["response"] is not JsonString { Value: "success" })
                    .Select(o => Number(o["phys-index"])).ToArray();
                if (failed.Length > 0) r.Add("failed", string.Join(',', failed));
            });
        Audit<GuestSetUserPasswordArguments>((r, a) =>
        {
            r.Add("user", a.Username);
            r.Add("crypted", a.Crypted ? "true" : "false");
        });
        Audit<GuestSshAddAuthorizedKeysArguments>((r, a) => DescribeKeys(r, a.Username, a.Keys, a.Reset == true));
        Audit<GuestSshRemoveAuthorizedKeysArguments>((r, a) => DescribeKeys(r, a.Username, a.Keys, false));
        Audit<GuestFsfreezeFreezeArguments>((r, a) => AddAutoThaw(r, a.AutoThaw), (r, v) => AddCount(r, "frozen", v));
        Audit<GuestFsfreezeFreezeListArguments>((r, a) =>
        {
            r.Add("mountpoints", a.Mountpoints is { } mounts ? string.Join(',', mounts) : "all");
            AddAutoThaw(r, a.AutoThaw);
        }, (r, v) => AddCount(r, "frozen", v));
        Audit<GuestFsfreezeThawArguments>(result: (r, v) => AddCount(r, "thawed", v));
        Audit<GuestFstrimArguments>((r, a) =>
        {
            if (a.Minimum is { } minimum) r.Add("minimum", Number(minimum));
        }, DescribeTrim);
    }

    private static void Audit<TArgs>(Action<Builder, TArgs>? describe = null, Action<Builder, JsonValue?>? result = null)
        where TArgs : ICommandArguments<TArgs> =>
        Audited.Add(TArgs.Command, new Entry(
            (r, arguments) => describe?.Invoke(r, TArgs.Bind(arguments)),
            result ?? ((_, _) => { })));

    /// <summary>Whether <paramref name="command"/> leaves a record; read-only commands do not.</summary>
    public static bool Covers(string command) => Audited.ContainsKey(command);

    /// <summary>
    /// The record for one finished command whose <paramref name="arguments"/> passed its schema:
    /// <paramref name="error"/> when it failed, else its <paramref name="value"/>.
    /// </summary>
    public static string Format(string command, JsonObject arguments, JsonValue? value, QmpError? error)
    {
        var entry = Audited[command];
        var record = new Builder();
        record.Add("command", command);
        entry.Describe(record, arguments);
        if (error is not null)
        {
            record.Add("result", "error");
            record.Add("error", error.Desc);
        }
        else
        {
            record.Add("result", "ok");
            entry.DescribeResult(record, value);
        }
        return record.ToString();
    }

    /// <summary>A record that is not about one command, such as the count of records syslog missed.</summary>
    public static string Event(string name, params (string Key, string Value)[] fields)
    {
        var record = new Builder();
        record.Add("event", name);
        foreach (var (key, v) in fields) record.Add(key, v);
        return record.ToString();
    }

    private static void DescribeExec(Builder record, GuestExecArguments a)
    {
        record.Add("argv", string.Join(' ', new[] { a.Path }.Concat(a.Arg ?? []).Select(ShellWord)));
        if (a.Env is { } env) record.Add("env", string.Join(',', env.Select(e => e.Split('=', 2)[0])));
        if (a.InputData is not null) record.Add("input", "yes");
        if (a.WorkingDirectory is { } cwd) record.Add("cwd", cwd);
        if (a.Timeout is { } timeout) record.Add("timeout", Number(timeout));
    }

    private static void DescribeKeys(Builder record, string user, IReadOnlyList<string> keys, bool reset)
    {
        record.Add("user", user);
        record.Add("keys", string.Join(',', keys.Select(SshKeyFingerprint.Of)));
        if (reset) record.Add("reset", "true");
    }

    private static void AddAutoThaw(Builder record, long? autoThaw)
    {
        if (autoThaw is { } seconds) record.Add("auto-thaw", Number(seconds));
    }

    private static void AddCount(Builder record, string key, JsonValue? value)
    {
        if (value is JsonInt n) record.Add(key, Number(n));
    }

    private static void DescribeTrim(Builder record, JsonValue? value)
    {
        if (value is not JsonObject o || o["paths"] is not JsonArray paths) return;
        var trimmed = paths.Items.OfType<JsonObject>().ToArray();
        record.Add("trimmed", string.Join(',', trimmed.Where(p => p["error"] is null).Select(p => Str(p, "path"))));
        var failedPaths = trimmed.Where(p => p["error"] is not null).Select(p => Str(p, "path")).ToArray();
        if (failedPaths.Length > 0) record.Add("failed", string.Join(',', failedPaths));
    }

    /// <summary>"online=0,1 offline=2": which items the command asked to bring online and which offline.</summary>
    private static void AddOnlineLists(Builder record, IEnumerable<(string Id, bool Online)> items)
    {
        var list = items.ToArray();
        record.Add("online", string.Join(',', list.Where(i => i.Online).Select(i => i.Id)));
        record.Add("offline", string.Join(',', list.Where(i => !i.Online).Select(i => i.Id)));
    }

    private static string? Str(JsonObject o, string key) => o[key] is JsonString s ? s.Value : null;

    private static string Number(long n) => n.ToString(CultureInfo.InvariantCulture);

    private static string Number(ulong n) => n.ToString(CultureInfo.InvariantCulture);

    private static string Number(double d) => d.ToString("R", CultureInfo.InvariantCulture);

    private static string Number(JsonValue? v) => v switch
    {
        JsonInt i => i.Value.ToString(CultureInfo.InvariantCulture),
        JsonUInt u => u.Value.ToString(CultureInfo.InvariantCulture),
        JsonDouble d => d.Value.ToString("R", CultureInfo.InvariantCulture),
        _ => "",
    };

    /// <summary>A word as a POSIX shell would need it, so the argv list can be split back unambiguously.</summary>
    public static string ShellWord(string word)
    {
        if (word.Length > 0 && word.All(c => char.IsAsciiLetterOrDigit(c) || "_@%+=:,./-".Contains(c)))
            return word;
        return "'" + word.Replace("'", "'\\''") + "'";
    }

    private sealed class Builder
    {
        private readonly StringBuilder _text = new();

        public void Add(string key, string value)
        {
            if (_text.Length > 0) _text.Append(' ');
            _text.Append(key).Append('=');
            AppendValue(_text, value);
        }

        public override string ToString() => _text.ToString();
    }

    private static void AppendValue(StringBuilder text, string value)
    {
        if (value.Length > 0 && !value.Any(NeedsQuotes))
        {
            text.Append(value);
            return;
        }
        text.Append('"');
        foreach (var c in value)
        {
            switch (c)
            {
                case '"': text.Append("\\\""); break;
                case '\\': text.Append("\\\\"); break;
                case '\n': text.Append("\\n"); break;
                case '\r': text.Append("\\r"); break;
                case '\t': text.Append("\\t"); break;
                default:
                    if (IsInvisible(c)) text.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    else text.Append(c);
                    break;
            }
        }
        text.Append('"');
    }

    private static bool NeedsQuotes(char c) => c is ' ' or '"' or '=' or '\\' || IsInvisible(c) || c is '\n' or '\r' or '\t';

    /// <summary>Controls (NUL included), format characters such as bidi overrides, line and paragraph separators.</summary>
    private static bool IsInvisible(char c) =>
        char.GetUnicodeCategory(c) is UnicodeCategory.Control or UnicodeCategory.Format
            or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator;
}
