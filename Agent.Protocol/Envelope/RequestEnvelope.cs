using Agent.Protocol.Json;

namespace Agent.Protocol.Envelope;

/// <summary>A request that passed the envelope checks (qapi/qmp-dispatch.c, qmp_dispatch_check_obj).</summary>
public sealed record Request(string Command, JsonObject Arguments, JsonValue? Id);

/// <summary>Result of envelope validation: either a request or an error (with the id if one was given).</summary>
public abstract record EnvelopeResult;
public sealed record EnvelopeOk(Request Request) : EnvelopeResult;
public sealed record EnvelopeRejected(QmpError Error, JsonValue? Id) : EnvelopeResult;

public static class RequestEnvelope
{
    /// <summary>
    /// The envelope checks of qapi/qmp-dispatch.c (qmp_dispatch_check_obj) in qemu's order with its exact texts: not an object; per member
    /// ('execute' must be a string, 'arguments' an object, 'id' anything, others unexpected —
    /// exec-oob included); then a missing 'execute'. Missing 'arguments' becomes {}.
    /// Members are checked in qemu's QDict order, so with several bad members the same one is reported.
    /// </summary>
    public static EnvelopeResult Validate(JsonValue value)
    {
        if (value is not JsonObject request)
            return new EnvelopeRejected(QmpError.Generic("QMP input must be a JSON object"), null);

        var id = request["id"];
        string? command = null;
        var members = request.Members;
        Span<int> order = members.Count <= 64 ? stackalloc int[members.Count] : new int[members.Count];
        QDictOrder.Order(members, order);
        foreach (var index in order)
        {
            var (name, member) = members[index];
            switch (name)
            {
                case "execute":
                    if (member is not JsonString s)
                        return Reject("QMP input member 'execute' must be a string", id);
                    command = s.Value;
                    break;
                case "arguments":
                    if (member is not JsonObject)
                        return Reject("QMP input member 'arguments' must be an object", id);
                    break;
                case "id":
                    break;
                default:
                    return Reject($"QMP input member '{name}' is unexpected", id);
            }
        }
        if (command is null) return Reject("QMP input lacks member 'execute'", id);

        var arguments = request["arguments"] as JsonObject ?? JsonObject.Empty;
        return new EnvelopeOk(new Request(command, arguments, id));
    }

    private static EnvelopeRejected Reject(string desc, JsonValue? id) => new(QmpError.Generic(desc), id);
}
