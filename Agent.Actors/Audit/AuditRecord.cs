using System.Globalization;
using System.Text;
using Agent.Protocol.Envelope;
using Agent.Protocol.Json;

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
    private const string ExecKill = "__org.actoragent_guest-exec-kill";

    private static readonly HashSet<string> Audited = new(StringComparer.Ordinal)
    {
        "guest-exec", ExecKill, "guest-file-open", "guest-file-write", "guest-file-close",
        "guest-shutdown", "guest-suspend-disk", "guest-suspend-ram", "guest-suspend-hybrid",
        "guest-set-time", "guest-set-vcpus", "guest-set-memory-blocks", "guest-set-user-password",
        "guest-ssh-add-authorized-keys", "guest-ssh-remove-authorized-keys",
        "guest-fsfreeze-freeze", "guest-fsfreeze-freeze-list", "guest-fsfreeze-thaw", "guest-fstrim",
    };

    /// <summary>Whether <paramref name="command"/> leaves a record; read-only commands do not.</summary>
    public static bool Covers(string command) => Audited.Contains(command);

    /// <summary>The record for one finished command: <paramref name="error"/> when it failed, else its <paramref name="value"/>.</summary>
    public static string Format(string command, JsonObject arguments, JsonValue? value, QmpError? error)
    {
        var record = new Builder();
        record.Add("command", command);
        Describe(record, command, arguments);
        if (error is not null)
        {
            record.Add("result", "error");
            record.Add("error", error.Desc);
        }
        else
        {
            record.Add("result", "ok");
            DescribeResult(record, command, value);
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

    private static void Describe(Builder record, string command, JsonObject args)
    {
        switch (command)
        {
            case "guest-exec":
                var argv = new[] { Str(args, "path") ?? "" }.Concat(Strs(args, "arg") ?? []);
                record.Add("argv", string.Join(' ', argv.Select(ShellWord)));
                if (Strs(args, "env") is { } env)
                    record.Add("env", string.Join(',', env.Select(e => e.Split('=', 2)[0])));
                if (args["input-data"] is not null) record.Add("input", "yes");
                if (Str(args, "__org.actoragent_working-directory") is { } cwd) record.Add("cwd", cwd);
                if (args["__org.actoragent_timeout"] is { } timeout) record.Add("timeout", Number(timeout));
                break;
            case ExecKill:
                record.Add("pid", Number(args["pid"]));
                record.Add("signal", args["signal"] is { } signal ? Number(signal) : "9");
                break;
            case "guest-file-open":
                record.Add("path", Str(args, "path") ?? "");
                record.Add("mode", Str(args, "mode") ?? "r");
                break;
            case "guest-file-write" or "guest-file-close":
                record.Add("handle", Number(args["handle"]));
                break;
            case "guest-shutdown":
                record.Add("mode", Str(args, "mode") ?? "powerdown");
                break;
            case "guest-set-time":
                // Without a time qemu-ga copies the hardware clock into the system clock.
                record.Add("time", args["time"] is { } time ? Number(time) : "rtc");
                break;
            case "guest-set-vcpus":
                AddOnlineLists(record, args, "vcpus", "logical-id");
                break;
            case "guest-set-memory-blocks":
                AddOnlineLists(record, args, "mem-blks", "phys-index");
                break;
            case "guest-set-user-password":
                record.Add("user", Str(args, "username") ?? "");
                record.Add("crypted", args["crypted"] is JsonBool { Value: true } ? "true" : "false");
                break;
            case "guest-ssh-add-authorized-keys" or "guest-ssh-remove-authorized-keys":
                record.Add("user", Str(args, "username") ?? "");
                record.Add("keys", string.Join(',', (Strs(args, "keys") ?? []).Select(SshKeyFingerprint.Of)));
                if (args["reset"] is JsonBool { Value: true }) record.Add("reset", "true");
                break;
            case "guest-fsfreeze-freeze-list":
                record.Add("mountpoints", Strs(args, "mountpoints") is { } mounts ? string.Join(',', mounts) : "all");
                break;
            case "guest-fstrim":
                if (args["minimum"] is { } minimum) record.Add("minimum", Number(minimum));
                break;
        }
        if (command.StartsWith("guest-fsfreeze-freeze", StringComparison.Ordinal) &&
            args["__org.actoragent_auto-thaw"] is { } autoThaw)
            record.Add("auto-thaw", Number(autoThaw));
    }

    private static void DescribeResult(Builder record, string command, JsonValue? value)
    {
        switch (command)
        {
            case "guest-exec" when value is JsonObject o && o["pid"] is { } pid:
                record.Add("pid", Number(pid));
                break;
            case "guest-file-open" when value is JsonInt handle:
                record.Add("handle", Number(handle));
                break;
            case "guest-file-write" when value is JsonObject o && o["count"] is { } count:
                record.Add("count", Number(count));
                break;
            case "guest-fsfreeze-freeze" or "guest-fsfreeze-freeze-list" when value is JsonInt n:
                record.Add("frozen", Number(n));
                break;
            case "guest-fsfreeze-thaw" when value is JsonInt n:
                record.Add("thawed", Number(n));
                break;
            case "guest-set-vcpus" when value is JsonInt n:
                record.Add("processed", Number(n));
                break;
            case "guest-set-memory-blocks" when value is JsonArray responses:
                var failed = responses.Items.OfType<JsonObject>()
                    .Where(r => r["response"] is not JsonString { Value: "success" })
                    .Select(r => Number(r["phys-index"])).ToArray();
                if (failed.Length > 0) record.Add("failed", string.Join(',', failed));
                break;
            case "guest-fstrim" when value is JsonObject o && o["paths"] is JsonArray paths:
                var trimmed = paths.Items.OfType<JsonObject>().ToArray();
                record.Add("trimmed", string.Join(',', trimmed.Where(p => p["error"] is null).Select(p => Str(p, "path"))));
                var failedPaths = trimmed.Where(p => p["error"] is not null).Select(p => Str(p, "path")).ToArray();
                if (failedPaths.Length > 0) record.Add("failed", string.Join(',', failedPaths));
                break;
        }
    }

    /// <summary>"online=0,1 offline=2": which items the command asked to bring online and which offline.</summary>
    private static void AddOnlineLists(Builder record, JsonObject args, string list, string id)
    {
        var items = (args[list] as JsonArray)?.Items.OfType<JsonObject>().ToArray() ?? [];
        record.Add("online", string.Join(',', items.Where(i => i["online"] is JsonBool { Value: true }).Select(i => Number(i[id]))));
        record.Add("offline", string.Join(',', items.Where(i => i["online"] is JsonBool { Value: false }).Select(i => Number(i[id]))));
    }

    private static string? Str(JsonObject o, string key) => o[key] is JsonString s ? s.Value : null;

    private static IEnumerable<string>? Strs(JsonObject o, string key) =>
        o[key] is JsonArray a ? a.Items.Select(i => i is JsonString s ? s.Value : "") : null;

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
