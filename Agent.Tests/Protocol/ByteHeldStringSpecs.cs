using System.Buffers;
using Agent.Protocol.Encoding;
using Agent.Protocol.Json;

namespace Agent.Tests.Protocol;

/// <summary>
/// Large strings held as bytes (parsed ASCII, base64 of reply data) behave exactly as the same
/// strings held as .NET strings: same value, same type for the schema, same bytes written.
/// </summary>
public class ByteHeldStringSpecs
{
    private static JsonValue ParseOne(string json)
    {
        var items = new List<StreamItem>();
        new JsonStreamer().Feed(System.Text.Encoding.UTF8.GetBytes(json), items);
        return Assert.IsType<StreamValue>(Assert.Single(items)).Value;
    }

    // '#' to '[': printable ASCII without '"' or '\\'.
    private static string Payload(int length) => string.Concat(Enumerable.Range(0, length).Select(i => (char)('#' + i % 57)));

    [Theory]
    [InlineData(1023, false)] // short strings stay .NET strings
    [InlineData(1024, true)]
    [InlineData(100_000, true)] // the queue is reused: the content is copied out
    [InlineData(400_000, true)] // the queue is dropped after the message: the string points into it
    public void Escape_free_ascii_strings_from_1_KiB_keep_their_bytes(int length, bool asBytes)
    {
        var payload = Payload(length);
        var value = (JsonObject)ParseOne("{\"a\": \"" + payload + "\", \"b\": 1}");
        var s = Assert.IsType<JsonString>(value["a"]);
        Assert.Equal(asBytes, s.TryGetAscii(out _));
        Assert.Equal(payload, s.Value);
        Assert.Equal(new JsonString(payload), s);
        Assert.Equal("string", s.TypeName);
    }

    [Fact]
    public void A_kept_string_survives_the_next_message_on_the_same_streamer()
    {
        var streamer = new JsonStreamer();
        var items = new List<StreamItem>();
        var first = new string('A', 2000);
        streamer.Feed(System.Text.Encoding.ASCII.GetBytes("[\"" + first + "\"]"), items);
        streamer.Feed(System.Text.Encoding.ASCII.GetBytes("[\"" + new string('B', 2000) + "\"]"), items);
        var kept = (JsonString)((JsonArray)((StreamValue)items[0]).Value).Items[0];
        Assert.Equal(first, kept.Value);
    }

    [Fact]
    public void Strings_with_escapes_or_non_ascii_are_decoded_as_before()
    {
        var payload = new string('x', 3000);
        var escaped = (JsonString)ParseOne("\"" + payload + "\\n\"");
        Assert.False(escaped.TryGetAscii(out _));
        Assert.Equal(payload + "\n", escaped.Value);
        var accented = (JsonString)ParseOne("\"" + payload + "\u00e9\"");
        Assert.Equal(payload + "\u00e9", accented.Value);
    }

    [Fact]
    public void Single_quoted_ascii_with_a_double_quote_and_DEL_is_written_escaped_like_the_string()
    {
        var payload = new string('y', 2000) + "\"\u007f" + new string('z', 2000);
        var s = (JsonString)ParseOne("'" + payload + "'");
        Assert.True(s.TryGetAscii(out _));
        Assert.Equal(JsonWriter.ToJson(new JsonString(payload)), JsonWriter.ToJson(s));
        Assert.Contains("\\\"\\u007F", JsonWriter.ToJson(s));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(49_152)]
    [InlineData(200_001)] // crosses the writer's 64 KiB pieces
    public void Base64_of_data_writes_the_same_bytes_as_the_encoded_string(int length)
    {
        var data = new byte[length];
        new Random(length).NextBytes(data);
        var lazy = JsonObject.Of(("count", new JsonInt(length)), ("buf-b64", JsonString.Base64Of(data)), ("eof", JsonBool.True));
        var eager = JsonObject.Of(("count", new JsonInt(length)), ("buf-b64", new JsonString(Convert.ToBase64String(data))), ("eof", JsonBool.True));

        var written = new ArrayBufferWriter<byte>(16);
        JsonWriter.Write(lazy, written);
        Assert.Equal(JsonWriter.ToJson(eager), System.Text.Encoding.ASCII.GetString(written.WrittenSpan));
        Assert.Equal(written.WrittenCount, JsonWriter.Measure(lazy));
        Assert.Equal(Convert.ToBase64String(data), ((JsonString)lazy["buf-b64"]!).Value);
    }

    /// <summary>A sequence of <paramref name="data"/> cut into pieces of the given sizes (the rest in a last piece).</summary>
    private static ReadOnlySequence<byte> Pieces(byte[] data, int[] sizes)
    {
        var pieces = new List<ReadOnlyMemory<byte>> { ReadOnlyMemory<byte>.Empty };
        var at = 0;
        foreach (var size in sizes.Append(data.Length))
        {
            var take = Math.Min(size, data.Length - at);
            pieces.Add(data.AsMemory(at, take));
            at += take;
        }
        return ByteSequence.Of(pieces);
    }

    // Pieces as an exec capture holds them (16 KiB doubling) and every way a group of three bytes can
    // be split across pieces, including pieces of one byte and empty ones.
    [Theory]
    [InlineData(0, new int[0])]
    [InlineData(5, new[] { 1, 1, 1, 1 })]
    [InlineData(7, new[] { 2, 0, 2, 1 })]
    [InlineData(10, new[] { 1, 0, 0, 1, 2 })]
    [InlineData(100_000, new[] { 16_384, 32_768, 1, 2 })]
    [InlineData(200_000, new[] { 65_536, 65_536, 10 })]
    [InlineData(98_304, new[] { 16_384, 32_768, 49_152 })] // ends with an empty piece
    public void Base64_of_data_in_pieces_writes_the_same_bytes_as_of_the_joined_data(int length, int[] sizes)
    {
        var data = new byte[length];
        new Random(length).NextBytes(data);
        var pieces = Pieces(data, sizes);
        Assert.Equal(length, pieces.Length);
        var text = Convert.ToBase64String(data);
        for (var offset = 0; offset <= Math.Min(length, 4); offset++)
        {
            var slice = pieces.Slice(offset);
            var expected = "\"" + Convert.ToBase64String(data, offset, length - offset) + "\"";
            var written = new ArrayBufferWriter<byte>(16);
            JsonWriter.Write(JsonString.Base64Of(slice), written);
            Assert.Equal(expected, System.Text.Encoding.ASCII.GetString(written.WrittenSpan));
            Assert.Equal(written.WrittenCount, JsonWriter.Measure(JsonString.Base64Of(slice)));
            var small = new SmallSegments(5);
            JsonWriter.Write(JsonString.Base64Of(slice), small);
            Assert.Equal(expected, small.Text);
        }
        Assert.Equal(text, JsonString.Base64Of(pieces).Value);
    }

    [Fact]
    public void Byte_held_strings_are_written_through_small_output_segments()
    {
        var data = new byte[100_000];
        new Random(7).NextBytes(data);
        var text = Convert.ToBase64String(data);
        var output = new SmallSegments(5);
        JsonWriter.Write(new JsonArray([JsonString.Base64Of(data), JsonString.FromAscii(System.Text.Encoding.ASCII.GetBytes(text))]), output);
        Assert.Equal("[\"" + text + "\", \"" + text + "\"]", output.Text);
    }

    // The lenient decoder's cases again, from bytes as the parser keeps them.
    [Theory]
    [InlineData("YWJj", "abc")]
    [InlineData("YQ==", "a")]
    [InlineData("YWJj\nZGVm\n", "abcdef")]
    [InlineData("YWJjZA", "abc")]
    [InlineData("YQ", "")]
    [InlineData("YQ==YWJj", "aabc")]
    [InlineData("YR==", "a")]
    [InlineData("YWJj\nZA==", "abcd")]
    public void Lenient_base64_decodes_byte_held_strings_like_glib(string input, string expected)
    {
        Assert.Equal(System.Text.Encoding.Latin1.GetBytes(expected), LenientBase64.Decode(JsonString.FromAscii(System.Text.Encoding.ASCII.GetBytes(input))));
        Assert.Equal(System.Text.Encoding.Latin1.GetBytes(expected), LenientBase64.Decode(new JsonString(input)));
    }

    [Theory]
    [InlineData("YW Jj")]
    [InlineData("YWJj\r\n")]
    [InlineData("YWJj    ")]
    [InlineData("YW-_")]
    [InlineData("YQ\0")]
    public void Lenient_base64_refuses_byte_held_strings_outside_the_alphabet(string input) =>
        Assert.Null(LenientBase64.Decode(JsonString.FromAscii(System.Text.Encoding.ASCII.GetBytes(input))));

    [Fact]
    public void A_large_parsed_base64_payload_decodes_from_its_bytes()
    {
        var data = new byte[300_000];
        new Random(3).NextBytes(data);
        var value = (JsonObject)ParseOne("{\"buf-b64\": \"" + Convert.ToBase64String(data) + "\"}");
        var s = (JsonString)value["buf-b64"]!;
        Assert.True(s.TryGetAscii(out _));
        Assert.Equal(data, LenientBase64.Decode(s));
        // with escapes (a line break every 76 characters, which glib skips) the parser builds a .NET string
        var wrapped = string.Join("\n", Convert.ToBase64String(data).Chunk(76).Select(c => new string(c)));
        var lenient = (JsonString)((JsonObject)ParseOne("{\"buf-b64\": \"" + wrapped.Replace("\n", "\\n") + "\"}"))["buf-b64"]!;
        Assert.Equal(data, LenientBase64.Decode(lenient));
    }

    /// <summary>An output that hands out spans of exactly the size asked, at least <c>minimum</c>.</summary>
    private sealed class SmallSegments(int minimum) : IBufferWriter<byte>
    {
        private readonly List<byte> _bytes = [];
        private byte[] _span = [];

        public string Text => System.Text.Encoding.ASCII.GetString(_bytes.ToArray());

        public void Advance(int count) => _bytes.AddRange(_span.AsSpan(0, count).ToArray());

        public Memory<byte> GetMemory(int sizeHint = 0) => _span = new byte[Math.Max(sizeHint, minimum)];

        public Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;
    }
}
