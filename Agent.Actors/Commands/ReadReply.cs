using Agent.Protocol.Encoding;

namespace Agent.Actors.Commands;

/// <summary>
/// GuestFileRead {count, buf-b64, eof}, the answer of guest-file-read and of
/// __org.actoragent_guest-exec-read-output, sized to the reply budget of its request.
/// </summary>
public static class ReadReply
{
    /// <summary>The error when not even one byte fits (only an id of nearly max-reply-bytes leaves so little).</summary>
    public const string NoRoom = "the reply would exceed agent.channel.max-reply-bytes";

    /// <summary>The reply with no data, its count "0" widened to the widest count it can carry.</summary>
    private static readonly long Frame = JsonWriter.Measure(Of(ReadOnlyMemory<byte>.Empty, eof: false)) - 1 + int.MaxValue.ToString().Length;

    /// <summary>The most data bytes whose reply takes at most <paramref name="budget"/> bytes.</summary>
    public static long MaxBytes(long budget) => Base64Text.MaxBytesIn(budget - Frame);

    /// <summary>The reply keeps <paramref name="data"/> and encodes it only when it is written.</summary>
    public static JsonObject Of(ReadOnlyMemory<byte> data, bool eof) => JsonObject.Of(
        ("count", new JsonInt(data.Length)),
        ("buf-b64", JsonString.Base64Of(data)),
        ("eof", JsonBool.Of(eof)));

    /// <inheritdoc cref="Of(ReadOnlyMemory{byte}, bool)"/>
    public static JsonObject Of(global::System.Buffers.ReadOnlySequence<byte> data, bool eof) => JsonObject.Of(
        ("count", new JsonInt(data.Length)),
        ("buf-b64", JsonString.Base64Of(data)),
        ("eof", JsonBool.Of(eof)));
}
