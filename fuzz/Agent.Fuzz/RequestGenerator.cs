using System.Text;
using Agent.Protocol.Json;
using Agent.Protocol.Schema;
using CsCheck;

namespace Agent.Fuzz;

/// <summary>
/// Fuzz inputs: requests built from the command schema (every command and argument, extreme and
/// wrong-typed values, ids of every JSON type), written with qemu's lexer quirks (single quotes,
/// escapes, odd whitespace), then often mutated at the byte level (flips, inserts, cuts, splices
/// with the seed corpus, huge strings, deep nesting). Values come from CsCheck generators driven by
/// one PCG, so a seed reproduces a run.
/// </summary>
public sealed class RequestGenerator(PCG pcg, FuzzGuest guest, IReadOnlyList<byte[]> seeds)
{
    private static readonly IReadOnlyList<CommandSchema> Commands = QgaSchema.Standard.With(ExtensionSchema.Commands).Commands;

    private static readonly long[] ExtremeInts =
    [
        0, 1, -1, 2, 1000, 1001, 4096, 65536, int.MaxValue, (long)int.MaxValue + 1, int.MinValue, uint.MaxValue,
        long.MaxValue, long.MinValue, long.MaxValue - 1, long.MinValue + 1, 1_000_000_000_000, -1_000_000_000_000,
        86_400, 9_223_372_036_854, 1L << 53, 48L << 20, 64L << 20,
    ];

    private static readonly string[] ExtremeNumberTexts =
    [
        "18446744073709551615", "18446744073709551616", "-9223372036854775809", "1e309", "-1e309", "1e308",
        "1.7976931348623157e308", "5e-324", "-0", "-0.0", "0.1", "1E400", "123456789012345678901234567890",
        "1.5", "-2.5e-3", "4.9e-325", "1e-400",
    ];

    private static readonly string[] FileModes = ["r", "w", "a", "r+", "w+", "a+", "rb", "wb+", "x", "", "rw", "r\u0000"];

    private static readonly Gen<long> AnyLong = Gen.Long;
    private static readonly Gen<double> AnyDouble = Gen.Double;
    private static readonly Gen<string> ShortString = Gen.String[0, 12];
    private static readonly Gen<string> AsciiString = Gen.String[Gen.Char.AlphaNumeric, 0, 24];

    private readonly List<long> _handles = [];
    private readonly List<long> _pids = [];
    private int _opens;

    /// <summary>Feeds back what the agent answered, so later requests can name live handles and pids.</summary>
    public void Observe(string command, long value)
    {
        var list = command == "guest-file-open" ? _handles : _pids;
        list.Add(value);
        // More than agent.files.max-open-handles (256): a handle forgotten here would stay open for good.
        if (list.Count > 512) list.RemoveAt(0);
    }

    private int Next(int n) => (int)pcg.Next((uint)n);

    private bool Chance(int percent) => Next(100) < percent;

    private T Pick<T>(IReadOnlyList<T> items) => items[Next(items.Count)];

    /// <summary>One fuzz input: the bytes of a request, possibly mutated, and the command it started as.</summary>
    public (byte[] Bytes, string Command) Next()
    {
        var command = PickCommand();
        var text = Serialize(Request(command));
        var bytes = Encoding.UTF8.GetBytes(text);
        if (Chance(30)) bytes = Mutate(bytes);
        return (bytes, command);
    }

    /// <summary>Cheap commands dominate, so a long run covers millions of inputs; exec and helpers stay in.</summary>
    private string PickCommand()
    {
        var roll = Next(1000);
        if (roll < 250) return Pick(["guest-ping", "guest-sync", "guest-info", "guest-get-time", "guest-sync-delimited"]);
        if (roll < 500) return Pick(["guest-file-open", "guest-file-write", "guest-file-read", "guest-file-close", "guest-file-seek", "guest-file-flush"]);
        if (roll < 515) return Pick(["guest-exec", "guest-exec-status", "__org.actoragent_guest-exec-kill", "__org.actoragent_guest-exec-ack"]);
        if (roll < 520) return Pick(["guest-fsfreeze-freeze", "guest-fsfreeze-freeze-list", "guest-fsfreeze-thaw", "guest-fsfreeze-status", "guest-fstrim"]);
        if (roll < 523) return Pick(["guest-shutdown", "guest-suspend-ram", "guest-suspend-disk", "guest-suspend-hybrid", "guest-set-time", "guest-set-user-password"]);
        if (roll < 540) return Pick(["guest-get-osinfo", "guest-get-hostname", "guest-get-timezone", "guest-get-users", "guest-get-load",
            "guest-get-vcpus", "guest-set-vcpus", "guest-get-memory-blocks", "guest-set-memory-blocks", "guest-get-memory-block-info",
            "guest-ssh-get-authorized-keys", "guest-ssh-add-authorized-keys", "guest-ssh-remove-authorized-keys",
            "guest-get-cpustats", "__org.actoragent_get-power-capabilities"]);
        if (roll < 545) return Pick(["guest-get-fsinfo", "guest-get-disks", "guest-get-diskstats", "guest-network-get-interfaces", "guest-network-get-route"]);
        if (roll < 560) return Pick(["guest-nope", "", "guest-ping ", "GUEST-PING", "guest-\u00e9", "guest-file-open\u0000"]);
        return Pick(Commands).Name;
    }

    private JsonValue Request(string command)
    {
        var members = new List<KeyValuePair<string, JsonValue>>();
        if (!Chance(2)) members.Add(new("execute", Chance(2) ? Value(3) : new JsonString(command)));
        var schema = Commands.FirstOrDefault(c => c.Name == command);
        if (schema is not null && (schema.Arguments.Count > 0 || Chance(10)) && !Chance(3))
            members.Add(new("arguments", Chance(2) ? Value(2) : Arguments(command, schema)));
        if (Chance(40)) members.Add(new("id", Id()));
        if (Chance(2)) members.Add(new(Pick(["exec-oob", "control", "", "Execute", "id2"]), Value(2)));
        if (Chance(1)) members.Add(members.Count > 0 ? members[0] : new("id", new JsonInt(1)));
        Shuffle(members);
        if (Chance(2)) return Value(3);
        return new JsonObject(members.ToArray());
    }

    private JsonObject Arguments(string command, CommandSchema schema)
    {
        var members = new List<KeyValuePair<string, JsonValue>>();
        foreach (var m in schema.Arguments)
        {
            if (!(m.Optional ? Chance(50) : Chance(95))) continue;
            members.Add(new(m.Name, Chance(5) ? Value(2) : Argument(command, m.Name, m.Type)));
        }
        if (command == "guest-exec")
        {
            // Downstream extensions, with extreme values too.
            if (Chance(10)) members.Add(new("__org.actoragent_timeout", Integer()));
            if (Chance(5)) members.Add(new("__org.actoragent_keep-result", JsonBool.Of(Chance(50))));
            if (Chance(5)) members.Add(new("__org.actoragent_working-directory", new JsonString(Chance(70) ? guest.Files : guest.Root + "/nowhere")));
        }
        if (Chance(3)) members.Add(new(Pick(["bogus", "ID", "handle ", "__org.actoragent_x"]), Value(1)));
        Shuffle(members);
        return new JsonObject(members.ToArray());
    }

    private JsonValue Argument(string command, string name, SchemaType type)
    {
        switch (command, name)
        {
            case ("guest-file-open", "path"):
                _opens++;
                return new JsonString(Chance(90) ? Path.Combine(guest.Files, "f" + Next(8)) : guest.Files + Pick(["/", "/dir/x", "/f0\u00e9", "/missing/f"]));
            case ("guest-file-open", "mode"):
                return new JsonString(Pick(FileModes));
            case ("guest-file-close", "handle") when _handles.Count > 0 && Chance(80):
                {
                    // Closes mostly name a live handle and forget it, so opens do not pile up to the handle cap.
                    var at = Next(_handles.Count);
                    var handle = _handles[at];
                    _handles.RemoveAt(at);
                    return new JsonInt(handle);
                }
            case (_, "handle"):
                return new JsonInt(_handles.Count > 0 && Chance(80) ? Pick(_handles) : Chance(50) ? 1000 + Next(_opens + 4) : Pick(ExtremeInts));
            case (_, "pid"):
                return new JsonInt(_pids.Count > 0 && Chance(80) ? Pick(_pids) : Pick(ExtremeInts));
            case ("guest-exec", "path"):
                return new JsonString(Pick(FuzzGuest.Programs));
            case ("guest-exec", "arg"):
                return new JsonArray(Enumerable.Range(0, Next(4)).Select(_ => (JsonValue)new JsonString(Ascii())).ToArray());
            case ("guest-exec", "env"):
                return new JsonArray(Enumerable.Range(0, Next(3)).Select(_ => (JsonValue)new JsonString(Pick(["A=1", "PATH=/nonexistent", "=", "B"]))).ToArray());
            case ("guest-exec", "input-data"):
            case ("guest-file-write", "buf-b64"):
                return new JsonString(Base64());
            case ("guest-file-read", "count"):
            case ("guest-file-write", "count"):
                return Chance(70) ? new JsonInt(Next(70000)) : Integer();
            case ("guest-fsfreeze-freeze-list", "mountpoints"):
                return new JsonArray(Enumerable.Range(0, Next(4)).Select(_ => (JsonValue)new JsonString(Chance(80) ? Pick(FuzzGuest.MountPoints) : "/nope")).ToArray());
            case ("guest-ssh-add-authorized-keys" or "guest-ssh-remove-authorized-keys" or "guest-ssh-get-authorized-keys" or "guest-set-user-password", "username"):
                return new JsonString(Chance(80) ? "fuzz" : Pick(["nobody-here", "", "fu\u0000zz", "../fuzz"]));
            case ("guest-ssh-add-authorized-keys" or "guest-ssh-remove-authorized-keys", "keys"):
                return new JsonArray(Enumerable.Range(0, Next(3)).Select(_ => (JsonValue)new JsonString(Pick(["ssh-ed25519 AAAAC3Nza fuzz@host", "", "a\nb", "ssh-rsa AAAA x"]))).ToArray());
            case ("guest-set-user-password", "password"):
                return new JsonString(Base64());
            case ("guest-shutdown", "mode"):
                return new JsonString(Pick(["powerdown", "halt", "reboot", "", "x"]));
        }
        return Typed(type);
    }

    private JsonValue Typed(SchemaType type) => type switch
    {
        IntType or UInt64Type => Integer(),
        NumberType => Number(),
        BoolType => JsonBool.Of(Chance(50)),
        StringType => new JsonString(Chance(70) ? AsciiString.Generate(pcg, null, out _) : ShortString.Generate(pcg, null, out _)),
        EnumType e => new JsonString(Chance(85) ? Pick(e.Values) : "nope"),
        ArrayType a => new JsonArray(Enumerable.Range(0, Next(4)).Select(_ => Typed(a.Element)).ToArray()),
        StructType s => new JsonObject(s.Members.Where(m => !m.Optional || Chance(50))
            .Select(m => new KeyValuePair<string, JsonValue>(m.Name, Typed(m.Type))).ToArray()),
        AlternateType alt => Typed(Pick(alt.Branches)),
        _ => Value(2),
    };

    private string Ascii() => AsciiString.Generate(pcg, null, out _);

    private JsonValue Integer()
    {
        var roll = Next(10);
        if (roll < 5) return new JsonInt(Pick(ExtremeInts));
        if (roll < 7) return new JsonInt(AnyLong.Generate(pcg, null, out _));
        if (roll < 9) return new JsonInt(Next(100));
        return Number();
    }

    private JsonValue Number()
    {
        if (Chance(50)) return new RawNumber(Pick(ExtremeNumberTexts));
        var d = AnyDouble.Generate(pcg, null, out _);
        return double.IsFinite(d) ? new JsonDouble(d) : new RawNumber("1e999");
    }

    private JsonValue Id() => Next(8) switch
    {
        0 => new RawNumber(Pick(ExtremeNumberTexts)),
        1 => new JsonString(ShortString.Generate(pcg, null, out _)),
        2 => Value(3),
        _ => new JsonInt(Chance(50) ? Next(1_000_000) : Pick(ExtremeInts)),
    };

    /// <summary>Any JSON value, nested up to <paramref name="depth"/>.</summary>
    private JsonValue Value(int depth) => Next(depth > 0 ? 9 : 6) switch
    {
        0 => JsonNull.Instance,
        1 => JsonBool.Of(Chance(50)),
        2 => Integer(),
        3 => Number(),
        4 => new JsonString(ShortString.Generate(pcg, null, out _)),
        5 => new JsonString(Pick(["", "\u0000", "\ud83d\ude00", "\u007f", "\u00ff", "\\", "\"", "\u2028"])),
        6 or 7 => new JsonArray(Enumerable.Range(0, Next(4)).Select(_ => Value(depth - 1)).ToArray()),
        _ => new JsonObject(Enumerable.Range(0, Next(4)).Select(i => new KeyValuePair<string, JsonValue>("k" + i, Value(depth - 1))).ToArray()),
    };

    private string Base64()
    {
        var roll = Next(20);
        if (roll == 0) return "!!not base64!!";
        if (roll == 1) return "QUJD=RA";
        if (roll == 2) return "";
        var data = new byte[roll == 3 && Chance(10) ? Next(200_000) : Next(200)];
        for (var i = 0; i < Math.Min(data.Length, 256); i++) data[i] = (byte)pcg.Next(256);
        return Convert.ToBase64String(data);
    }

    private void Shuffle<T>(List<T> list)
    {
        for (var i = list.Count - 1; i > 0; i--)
        {
            var j = Next(i + 1);
            (list[i], list[j]) = (list[j], list[i]);
        }
    }

    /// <summary>Writes a value as a host might: mostly plain JSON, sometimes with qemu's lexer quirks.</summary>
    private string Serialize(JsonValue value)
    {
        var sb = new StringBuilder();
        Write(sb, value, Chance(10), Chance(10));
        return sb.ToString();
    }

    private void Write(StringBuilder sb, JsonValue value, bool singleQuotes, bool spaces)
    {
        void Space() { if (spaces) sb.Append(Pick([" ", "\t", "\r\n", "  "])); }
        switch (value)
        {
            case RawNumber raw: sb.Append(raw.Text); break;
            case JsonString s: WriteString(sb, s.Value, singleQuotes); break;
            case JsonArray a:
                sb.Append('[');
                for (var i = 0; i < a.Items.Count; i++)
                {
                    if (i > 0) sb.Append(',');
                    Space();
                    Write(sb, a.Items[i], singleQuotes, spaces);
                }
                sb.Append(']');
                break;
            case JsonObject o:
                sb.Append('{');
                for (var i = 0; i < o.Members.Count; i++)
                {
                    if (i > 0) sb.Append(',');
                    Space();
                    WriteString(sb, o.Members[i].Key, singleQuotes);
                    sb.Append(':');
                    Space();
                    Write(sb, o.Members[i].Value, singleQuotes, spaces);
                }
                sb.Append('}');
                break;
            default: sb.Append(JsonWriter.ToJson(value)); break;
        }
    }

    private void WriteString(StringBuilder sb, string s, bool singleQuote)
    {
        var quote = singleQuote ? '\'' : '"';
        sb.Append(quote);
        foreach (var c in s)
        {
            if (c == quote || c == '\\') sb.Append('\\').Append(c);
            else if (c < 0x20 || (c >= 0x7F && Chance(50)) || Chance(1)) sb.Append("\\u").Append(((int)c).ToString("x4"));
            else sb.Append(c);
        }
        sb.Append(quote);
    }

    private byte[] Mutate(byte[] bytes)
    {
        var data = new List<byte>(bytes);
        var rounds = 1 + Next(3);
        for (var r = 0; r < rounds; r++)
        {
            var at = data.Count == 0 ? 0 : Next(data.Count + 1);
            switch (Next(12))
            {
                case 0: if (data.Count > 0) data[Math.Min(at, data.Count - 1)] ^= (byte)(1 << Next(8)); break;
                case 1: data.Insert(at, Pick<byte>([0xFF, 0x00, 0xFE, 0xC0, 0x80, (byte)'"', (byte)'\'', (byte)'{', (byte)'}', (byte)'[', (byte)']', (byte)',', (byte)':', (byte)'\\', (byte)'\n', (byte)'e', (byte)'-', (byte)'1'])); break;
                case 2: if (data.Count > 0) data.RemoveRange(Math.Min(at, data.Count - 1), Math.Min(1 + Next(8), data.Count - Math.Min(at, data.Count - 1))); break;
                case 3: data.RemoveRange(at, data.Count - at); break;
                case 4:
                    {
                        var seed = Pick(seeds);
                        var from = Next(seed.Length);
                        data.InsertRange(at, seed.AsSpan(from, Next(seed.Length - from + 1)).ToArray());
                        break;
                    }
                case 5: data.InsertRange(at, Encoding.UTF8.GetBytes(Pick(["\\u0000", "\\ud800", "\\udc00\\ud800", "\\uFFFF", "\\uD83D\\uDE00", "\\x", "\\u12"]))); break;
                case 6:
                    {
                        // A long string token: mostly kilobytes, rarely megabytes.
                        var length = Next(1000) == 0 ? 1 + Next(4 << 20) : Chance(10) ? Next(64 << 10) : Next(4 << 10);
                        var s = new byte[length + 2];
                        s.AsSpan().Fill((byte)'A');
                        s[0] = s[^1] = (byte)'"';
                        data.InsertRange(at, s);
                        break;
                    }
                case 7:
                    {
                        var depth = Chance(10) ? 1000 + Next(100) : Next(80);
                        var open = Chance(50) ? (byte)'[' : (byte)'{';
                        data.InsertRange(at, Enumerable.Repeat(open, depth));
                        if (open == (byte)'[' && Chance(50)) data.InsertRange(at + depth, Enumerable.Repeat((byte)']', depth));
                        break;
                    }
                case 8: data.InsertRange(at, Encoding.ASCII.GetBytes(Pick(ExtremeNumberTexts))); break;
                case 9:
                    {
                        var from = Next(Math.Max(1, data.Count));
                        var run = data.Skip(from).Take(1 + Next(16)).ToArray();
                        data.InsertRange(at, run);
                        break;
                    }
                case 10: data.InsertRange(at, Encoding.ASCII.GetBytes(Pick(["true", "nul", "null", "falsee", "tru", "inf", "nan"]))); break;
                default: data.Insert(at, (byte)pcg.Next(256)); break;
            }
        }
        return data.ToArray();
    }

    /// <summary>A number written out as given (values the reply writer cannot produce, like 1e309).</summary>
    private sealed record RawNumber(string Text) : JsonValue
    {
        public override string TypeName => "number";
    }
}
