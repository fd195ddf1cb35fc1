using Agent.Protocol.Envelope;
using Agent.Protocol.Json;
using Agent.Protocol.Schema;
using CsCheck;

namespace Agent.Fuzz;

/// <summary>
/// The pure half of the fuzzer: random byte streams and generated or mutated requests through the
/// streamer, the envelope and argument checks and the reply writer, each reply built the way the
/// dispatcher builds it (errors, echoed ids, guest-sync's echoed argument) and checked with
/// System.Text.Json. No actors: hundreds of thousands of inputs per second.
/// </summary>
public static class ProtocolFuzz
{
    private static readonly CommandTable Table = QgaSchema.Standard.With(ExtensionSchema.Commands);

    public sealed record Finding(byte[] Input, string Reply, string Problem);

    public static (long Inputs, List<Finding> Findings) Run(long inputs, ulong seed, IReadOnlyList<byte[]> seeds, int maxFindings = 20)
    {
        var pcg = new PCG(7, seed);
        using var guest = new FuzzGuest();
        var generator = new RequestGenerator(pcg, guest, seeds);
        var findings = new List<Finding>();
        var streamer = new JsonStreamer();
        var items = new List<StreamItem>();
        var random = Gen.Byte.Array[0, 64];
        for (long n = 0; n < inputs; n++)
        {
            var input = pcg.Next(4) == 0 ? random.Generate(pcg, null, out _) : generator.Next().Bytes;
            items.Clear();
            streamer.Feed(input, items);
            foreach (var item in items)
            {
                var line = ReplyFor(item);
                var problem = ReplyCheck.Problem(line.AsMemory(0, line.Length - 1), out _);
                if (problem is not null && findings.Count < maxFindings)
                    findings.Add(new Finding(input, System.Text.Encoding.Latin1.GetString(line), problem));
            }
        }
        return (inputs, findings);
    }

    /// <summary>The reply line the dispatcher writes for an item when every command would succeed with {}.</summary>
    public static byte[] ReplyFor(StreamItem item)
    {
        if (item is StreamError error) return Replies.Line(Replies.Error(QmpError.Generic(error.Desc), null));
        var value = ((StreamValue)item).Value;
        switch (RequestEnvelope.Validate(value))
        {
            case EnvelopeRejected rejected:
                return Replies.Line(Replies.Error(rejected.Error, rejected.Id));
            case EnvelopeOk { Request: var request }:
                var schema = Table.Commands.FirstOrDefault(c => c.Name == request.Command);
                if (schema is null)
                    return Replies.Line(Replies.Error(QmpError.NotFound($"The command {request.Command} has not been found"), request.Id));
                if (ArgumentChecker.Check(schema, request.Arguments) is { } argumentError)
                    return Replies.Line(Replies.Error(QmpError.Generic(argumentError), request.Id));
                var result = request.Command is "guest-sync" or "guest-sync-delimited" ? request.Arguments["id"]! : JsonObject.Empty;
                return Replies.Line(Replies.Return(result, request.Id), delimited: request.Command == "guest-sync-delimited");
            default:
                throw new InvalidOperationException("unknown envelope result");
        }
    }
}
