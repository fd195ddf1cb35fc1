namespace Agent.Protocol.Json;

/// <summary>One thing the streamer produced from the byte stream, in stream order.</summary>
public abstract record StreamItem;

/// <summary>A complete top-level JSON value (any type: the envelope check rejects non-objects).</summary>
public sealed record StreamValue(JsonValue Value) : StreamItem;

/// <summary>
/// A lexer, parser or limit error. <see cref="Desc"/> is the exact qemu text, e.g.
/// "JSON parse error, stray '\uFFFD'" (with the real U+FFFD char) or "JSON token count limit exceeded".
/// Such errors are answered without an id.
/// </summary>
public sealed record StreamError(string Desc) : StreamItem;

/// <summary>
/// Incremental JSON splitter/parser reproducing qemu's json-lexer + json-streamer + json-parser
/// byte for byte (spec §1.3): feed any chunking of the stream, get the same items.
/// Not thread-safe; owned by one channel. State survives across calls (and client reconnects).
/// </summary>
public sealed class JsonStreamer
{
    public const long MaxTokenBytes = 64L << 20;
    public const long MaxTokenCount = 2L << 20;
    public const int MaxNesting = 1024;

    /// <summary>Feeds bytes; appends every completed item to <paramref name="output"/>.</summary>
    public void Feed(ReadOnlySpan<byte> data, List<StreamItem> output) => throw new NotImplementedException();

    /// <summary>Bytes currently buffered for an incomplete message (for memory bounds in tests).</summary>
    public long PendingBytes => throw new NotImplementedException();
}
