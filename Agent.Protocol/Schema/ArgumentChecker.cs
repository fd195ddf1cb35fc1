using Agent.Protocol.Json;

namespace Agent.Protocol.Schema;

public static class ArgumentChecker
{
    /// <summary>
    /// Checks arguments the way qemu's QAPI input visitor does (qapi/qobject-input-visitor.c), members in schema
    /// order, nested structs and arrays with dotted/indexed paths, and the "unexpected" check of a
    /// struct after its members. Returns null when valid, else the exact GenericError text.
    /// </summary>
    public static string? Check(CommandSchema command, JsonObject arguments) =>
        arguments.Members.Count == 0 && AllOptional(command.Arguments)
            ? null // nothing to visit, nothing missing: most requests (guest-ping, guest-info), without a walk's allocations
            : new Visit().Struct(command.Arguments, arguments, name: null);

    private static bool AllOptional(IReadOnlyList<Member> members)
    {
        for (var i = 0; i < members.Count; i++)
            if (!members[i].Optional) return false;
        return true;
    }

    /// <summary>One walk; the stack mirrors the visitor's, which is what error paths are built from.</summary>
    private sealed class Visit
    {
        private sealed class Frame(JsonValue value, string? name)
        {
            public JsonValue Value { get; } = value;
            public string? Name { get; } = name;
            public int Index { get; set; }
        }

        private readonly List<Frame> _stack = [];

        public string? Struct(IReadOnlyList<Member> members, JsonObject obj, string? name)
        {
            // The visitor notes every member in a GHashTable (in QDict order) and strikes out the
            // ones it visits; whatever the table yields first afterwards is "unexpected".
            var unvisited = new GHashOrder();
            var order = new int[obj.Members.Count];
            QDictOrder.Order(obj.Members, order);
            foreach (var index in order) unvisited.Add(obj.Members[index].Key);

            _stack.Add(new Frame(obj, name));
            try
            {
                foreach (var member in members)
                {
                    var value = obj[member.Name];
                    if (value is null)
                    {
                        if (member.Optional) continue;
                        return $"Parameter '{FullName(member.Name)}' is missing";
                    }
                    unvisited.Remove(member.Name);
                    if (Value(member.Type, value, member.Name) is { } error) return error;
                }
                return unvisited.First() is { } extra ? $"Parameter '{FullName(extra)}' is unexpected" : null;
            }
            finally
            {
                _stack.RemoveAt(_stack.Count - 1);
            }
        }

        private string? Value(SchemaType type, JsonValue value, string? name)
        {
            switch (type)
            {
                case IntType:
                    return value is JsonInt ? null : TypeError(name, "integer");
                case UInt64Type:
                    // Negative ints are accepted "for backward compatibility", as in qemu.
                    return value is JsonInt or JsonUInt ? null : $"Parameter '{FullName(name)}' expects uint64";
                case NumberType:
                    return value is JsonInt or JsonUInt or JsonDouble ? null : TypeError(name, "number");
                case BoolType:
                    return value is JsonBool ? null : TypeError(name, "boolean");
                case StringType:
                    return value is JsonString ? null : TypeError(name, "string");
                case AnyType:
                    return null;
                case EnumType e:
                    if (value is not JsonString s) return TypeError(name, "string");
                    // qemu names the plain member here, not the full path.
                    return e.Values.Contains(s.Value) ? null : $"Parameter '{name ?? "null"}' does not accept value '{s.Value}'";
                case ArrayType a:
                    if (value is not JsonArray array) return TypeError(name, "array");
                    var frame = new Frame(array, name);
                    _stack.Add(frame);
                    try
                    {
                        for (int i = 0; i < array.Items.Count; i++)
                        {
                            frame.Index = i;
                            if (Value(a.Element, array.Items[i], null) is { } error) return error;
                        }
                        return null;
                    }
                    finally
                    {
                        _stack.RemoveAt(_stack.Count - 1);
                    }
                case StructType st:
                    return value is JsonObject obj ? Struct(st.Members, obj, name) : TypeError(name, "object");
                case AlternateType alt:
                    foreach (var branch in alt.Branches)
                        if (Accepts(branch, value)) return Value(branch, value, name);
                    return $"Invalid parameter type for '{name ?? "null"}', expected: {alt.Name}";
                default:
                    throw new InvalidOperationException($"unknown schema type {type}");
            }
        }

        /// <summary>Which alternate branch a JSON value selects (by QObject type, as qemu does).</summary>
        private static bool Accepts(SchemaType branch, JsonValue value) => branch switch
        {
            IntType or UInt64Type or NumberType => value is JsonInt or JsonUInt or JsonDouble,
            BoolType => value is JsonBool,
            StringType or EnumType => value is JsonString,
            ArrayType => value is JsonArray,
            StructType => value is JsonObject,
            AnyType => true,
            _ => false,
        };

        private string TypeError(string? name, string expected) =>
            $"Invalid parameter type for '{FullName(name)}', expected: {expected}";

        /// <summary>qemu's full_name: "a.b", "list[2].c", built from the innermost frame outwards.</summary>
        private string FullName(string? name)
        {
            var path = "";
            for (int i = _stack.Count - 1; i >= 0; i--)
            {
                var frame = _stack[i];
                path = frame.Value is JsonObject
                    ? "." + (name ?? "<anonymous>") + path
                    : $"[{frame.Index}]" + path;
                name = frame.Name;
            }
            return path.Length > 0 ? path[1..] : "<anonymous>";
        }
    }
}
