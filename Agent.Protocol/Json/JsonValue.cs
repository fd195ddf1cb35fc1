namespace Agent.Protocol.Json;

/// <summary>
/// A JSON value as qemu's QObject model sees it: integers keep their int64/uint64 identity
/// (a uint64 id must not turn into a double), objects keep member order and reject duplicates.
/// </summary>
public abstract record JsonValue
{
    /// <summary>The type word qemu's input visitor prints in "expected: ..." messages.</summary>
    public abstract string TypeName { get; }
}

public sealed record JsonNull : JsonValue
{
    public static readonly JsonNull Instance = new();
    private JsonNull() { }
    public override string TypeName => "null";
}

public sealed record JsonBool(bool Value) : JsonValue
{
    public static readonly JsonBool True = new(true);
    public static readonly JsonBool False = new(false);
    public static JsonBool Of(bool b) => b ? True : False;
    public override string TypeName => "boolean";
}

/// <summary>A number that fits int64 (qemu QNUM_I64).</summary>
public sealed record JsonInt(long Value) : JsonValue
{
    public override string TypeName => "number";
}

/// <summary>A non-negative number above int64's range that fits uint64 (qemu QNUM_U64).</summary>
public sealed record JsonUInt(ulong Value) : JsonValue
{
    public override string TypeName => "number";
}

/// <summary>A number written with '.', 'e' or 'E', or too large for uint64 (qemu QNUM_DOUBLE).</summary>
public sealed record JsonDouble(double Value) : JsonValue
{
    public override string TypeName => "number";

    /// <summary>
    /// The number as the host wrote it, kept only when it overflows a double (1e309): qemu-ga echoes
    /// such an id as "inf", which is not JSON, and we echo this text instead (README, "Valid JSON").
    /// </summary>
    public string? Literal { get; init; }

    public bool Equals(JsonDouble? other) => other is not null && Value.Equals(other.Value);

    public override int GetHashCode() => Value.GetHashCode();
}

/// <summary>
/// A string (input was validated UTF-8; \u0000 is allowed). Large ASCII strings keep their bytes and
/// base64 replies keep the data they encode, so a payload is never widened to a UTF-16 string on its
/// way from the parser to a family or from a family to the writer (bench/README.md, "Memory");
/// <see cref="Value"/> builds the .NET string only when asked.
/// </summary>
public sealed record JsonString : JsonValue
{
    private readonly string? _text;
    private readonly ReadOnlyMemory<byte> _bytes;
    private readonly System.Buffers.ReadOnlySequence<byte> _base64Data;
    private readonly bool _isBase64Of;

    public JsonString(string value) => _text = value;

    private JsonString(ReadOnlyMemory<byte> ascii) => _bytes = ascii;

    private JsonString(System.Buffers.ReadOnlySequence<byte> data)
    {
        _base64Data = data;
        _isBase64Of = true;
    }

    /// <summary>A string whose content is these ASCII bytes (each below 0x80), kept without copying.</summary>
    public static JsonString FromAscii(ReadOnlyMemory<byte> ascii) => new(ascii);

    /// <summary>The padded base64 text of <paramref name="data"/>, encoded only when written.</summary>
    public static JsonString Base64Of(ReadOnlyMemory<byte> data) => new(new System.Buffers.ReadOnlySequence<byte>(data));

    /// <summary>The padded base64 text of data held in pieces (an exec capture), encoded only when written.</summary>
    public static JsonString Base64Of(System.Buffers.ReadOnlySequence<byte> data) => new(data);

    public override string TypeName => "string";

    public string Value => _text ?? (_isBase64Of
        ? Convert.ToBase64String(_base64Data.IsSingleSegment ? _base64Data.FirstSpan : System.Buffers.BuffersExtensions.ToArray(_base64Data))
        : System.Text.Encoding.ASCII.GetString(_bytes.Span));

    /// <summary>The content as ASCII bytes when it is held that way (see <see cref="FromAscii"/>).</summary>
    public bool TryGetAscii(out ReadOnlyMemory<byte> ascii)
    {
        ascii = _bytes;
        return _text is null && !_isBase64Of;
    }

    /// <summary>The data whose base64 this string is, when it was made by <see cref="Base64Of"/>.</summary>
    public bool TryGetBase64Data(out System.Buffers.ReadOnlySequence<byte> data)
    {
        data = _base64Data;
        return _isBase64Of;
    }

    public bool Equals(JsonString? other) => other is not null && Value == other.Value;

    public override int GetHashCode() => Value.GetHashCode();

    protected override bool PrintMembers(System.Text.StringBuilder builder)
    {
        builder.Append("Value = ").Append(Value);
        return true;
    }
}

public sealed record JsonArray(IReadOnlyList<JsonValue> Items) : JsonValue
{
    public static readonly JsonArray Empty = new(Array.Empty<JsonValue>());
    public override string TypeName => "array";

    public bool Equals(JsonArray? other) =>
        other is not null && Items.SequenceEqual(other.Items);

    public override int GetHashCode() => Items.Count;
}

/// <summary>Members in insertion order; keys are unique (the parser rejects duplicates).</summary>
public sealed record JsonObject(IReadOnlyList<KeyValuePair<string, JsonValue>> Members) : JsonValue
{
    public static readonly JsonObject Empty = new(Array.Empty<KeyValuePair<string, JsonValue>>());
    public override string TypeName => "object";

    public JsonValue? this[string key]
    {
        get
        {
            // Indexed, not foreach: an interface's enumerator is an allocation per lookup.
            for (var i = 0; i < Members.Count; i++)
                if (Members[i].Key == key) return Members[i].Value;
            return null;
        }
    }

    public bool TryGet(string key, out JsonValue value)
    {
        var v = this[key];
        value = v!;
        return v is not null;
    }

    public bool Equals(JsonObject? other) =>
        other is not null && Members.Count == other.Members.Count &&
        Members.Zip(other.Members).All(p => p.First.Key == p.Second.Key && p.First.Value.Equals(p.Second.Value));

    public override int GetHashCode() => Members.Count;

    /// <summary>Two members, as every reply envelope has (no params array for the hot path).</summary>
    public static JsonObject Of((string Key, JsonValue? Value) first, (string Key, JsonValue? Value) second) =>
        first.Value is null ? (second.Value is null ? Empty : new(new KeyValuePair<string, JsonValue>[] { new(second.Key, second.Value) }))
        : second.Value is null ? new(new KeyValuePair<string, JsonValue>[] { new(first.Key, first.Value) })
        : new(new KeyValuePair<string, JsonValue>[] { new(first.Key, first.Value), new(second.Key, second.Value) });

    /// <summary>Builds an object from members given in order; later code never mutates it.</summary>
    public static JsonObject Of(params (string Key, JsonValue? Value)[] members)
    {
        // A plain loop: every reply is built here, and LINQ cost three allocations per object (bench/README.md).
        var count = 0;
        foreach (var m in members)
            if (m.Value is not null) count++;
        var kept = new KeyValuePair<string, JsonValue>[count];
        var at = 0;
        foreach (var m in members)
            if (m.Value is not null) kept[at++] = new KeyValuePair<string, JsonValue>(m.Key, m.Value);
        return new JsonObject(kept);
    }
}

/// <summary>
/// A value already written by <see cref="JsonWriter"/>, for a reply that never changes: the writer
/// copies these bytes instead of walking the tree each time (guest-info's 5 KB list, bench/README.md).
/// Only <see cref="Of"/> makes one, so the bytes are always our writer's own output. Equal to another
/// encoded value with the same bytes, not to the tree it was written from.
/// </summary>
public sealed record JsonEncoded : JsonValue
{
    private readonly byte[] _bytes;
    private readonly string _typeName;

    private JsonEncoded(byte[] bytes, string typeName)
    {
        _bytes = bytes;
        _typeName = typeName;
    }

    /// <summary>Writes <paramref name="value"/> once and keeps the bytes.</summary>
    public static JsonEncoded Of(JsonValue value)
    {
        if (value is JsonEncoded encoded) return encoded;
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(256);
        JsonWriter.Write(value, buffer);
        return new(buffer.WrittenSpan.ToArray(), value.TypeName);
    }

    public override string TypeName => _typeName;

    /// <summary>The JSON text as the writer produced it (pure ASCII, one line).</summary>
    public ReadOnlySpan<byte> Bytes => _bytes;

    public bool Equals(JsonEncoded? other) => other is not null && _bytes.AsSpan().SequenceEqual(other._bytes);

    public override int GetHashCode() => _bytes.Length;

    protected override bool PrintMembers(System.Text.StringBuilder builder)
    {
        builder.Append("Json = ").Append(System.Text.Encoding.ASCII.GetString(_bytes));
        return true;
    }
}
