namespace Agent.Protocol.Schema;

/// <summary>A QAPI type as the input visitor checks it.</summary>
public abstract record SchemaType;
public sealed record IntType : SchemaType { public static readonly IntType Instance = new(); }
public sealed record UInt64Type : SchemaType { public static readonly UInt64Type Instance = new(); }
public sealed record NumberType : SchemaType { public static readonly NumberType Instance = new(); }
public sealed record BoolType : SchemaType { public static readonly BoolType Instance = new(); }
public sealed record StringType : SchemaType { public static readonly StringType Instance = new(); }
public sealed record AnyType : SchemaType { public static readonly AnyType Instance = new(); }
public sealed record EnumType(string Name, IReadOnlyList<string> Values) : SchemaType;
public sealed record ArrayType(SchemaType Element) : SchemaType;
public sealed record StructType(string Name, IReadOnlyList<Member> Members) : SchemaType;
/// <summary>An alternate picks a branch by JSON type; a mismatch says "expected: Name".</summary>
public sealed record AlternateType(string Name, IReadOnlyList<SchemaType> Branches) : SchemaType;

public sealed record Member(string Name, SchemaType Type, bool Optional = false);

/// <summary>One command of the qga schema.</summary>
public sealed record CommandSchema(
    string Name,
    IReadOnlyList<Member> Arguments,
    bool SuccessResponse = true,
    bool AllowedWhileFrozen = false)
{
    /// <summary>The success reply starts with 0xFF so the host can resync on it (guest-sync-delimited).</summary>
    public bool DelimitedReply { get; init; }
}
