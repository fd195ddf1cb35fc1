using Agent.Protocol.Json;

namespace Agent.Protocol.Envelope;

/// <summary>A request that passed the envelope checks (spec §2.1 steps 1–3).</summary>
public sealed record Request(string Command, JsonObject Arguments, JsonValue? Id);

/// <summary>Result of envelope validation: either a request or an error (with the id if one was given).</summary>
public abstract record EnvelopeResult;
public sealed record EnvelopeOk(Request Request) : EnvelopeResult;
public sealed record EnvelopeRejected(QmpError Error, JsonValue? Id) : EnvelopeResult;

public static class RequestEnvelope
{
    /// <summary>
    /// Steps 1–3 of spec §2.1 in qemu's order with its exact texts: not an object; per member
    /// ('execute' must be a string, 'arguments' an object, 'id' anything, others unexpected —
    /// exec-oob included); then a missing 'execute'. Missing 'arguments' becomes {}.
    /// </summary>
    public static EnvelopeResult Validate(JsonValue value) => throw new NotImplementedException();
}
