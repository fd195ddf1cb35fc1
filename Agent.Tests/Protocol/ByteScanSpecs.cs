using Agent.Protocol.Encoding;
using Agent.Protocol.Envelope;
using Agent.Protocol.Json;

namespace Agent.Tests.Protocol;

/// <summary>
/// The vectorized scans of the streamer, the parser and the base64 decoder (Json/ByteScan.cs) find a
/// special byte wherever it falls: in the first, middle or last lane of a 16-byte vector, or in the
/// scalar tail; and the reply line is written into an array of exactly its measured size.
/// </summary>
public class ByteScanSpecs
{
    private static List<StreamItem> Feed(byte[] json)
    {
        var items = new List<StreamItem>();
        new JsonStreamer().Feed(json, items);
        return items;
    }

    private static byte[] Ascii(string s) => System.Text.Encoding.ASCII.GetBytes(s);

    public static TheoryData<int> Offsets() => new(0, 1, 14, 15, 16, 17, 31, 32, 47, 1030, 1038, 1039, 1040);

    [Theory]
    [MemberData(nameof(Offsets))]
    public void A_control_byte_in_a_long_string_is_an_error_wherever_it_falls(int at)
    {
        var content = Enumerable.Repeat((byte)'a', 1041).ToArray();
        content[at] = 0x01;
        var items = Feed([.. Ascii("[\""), .. content, .. Ascii("\"]")]);
        Assert.Contains(items, i => i is StreamError);
    }

    [Theory]
    [MemberData(nameof(Offsets))]
    public void Bytes_FE_and_FF_in_a_long_string_are_errors_wherever_they_fall(int at)
    {
        foreach (var bad in new byte[] { 0xFE, 0xFF })
        {
            var content = Enumerable.Repeat((byte)'a', 1041).ToArray();
            content[at] = bad;
            Assert.Contains(Feed([.. Ascii("[\""), .. content, .. Ascii("\"]")]), i => i is StreamError);
        }
    }

    [Theory]
    [MemberData(nameof(Offsets))]
    public void A_quote_or_an_escape_ends_the_plain_run_wherever_it_falls(int at)
    {
        var before = new string('a', at);
        var after = new string('b', 1041 - at);
        var quoted = Assert.IsType<StreamValue>(Assert.Single(Feed(Ascii("[\"" + before + "\", \"" + after + "\"]")))).Value;
        Assert.Equal([before, after], ((JsonArray)quoted).Items.Select(v => ((JsonString)v).Value));

        var escaped = Assert.IsType<StreamValue>(Assert.Single(Feed(Ascii("\"" + before + "\\n" + after + "\"")))).Value;
        Assert.Equal(before + "\n" + after, ((JsonString)escaped).Value);

        var single = Assert.IsType<StreamValue>(Assert.Single(Feed(Ascii("'" + before + "\"" + after + "'")))).Value;
        Assert.Equal(before + "\"" + after, ((JsonString)single).Value);
    }

    [Theory]
    [MemberData(nameof(Offsets))]
    public void A_multibyte_character_in_a_long_string_is_decoded_wherever_it_falls(int at)
    {
        var text = new string('a', at) + "\u00e9" + new string('b', 1041 - at);
        var value = Assert.IsType<StreamValue>(Assert.Single(Feed(System.Text.Encoding.UTF8.GetBytes("\"" + text + "\"")))).Value;
        Assert.Equal(text, ((JsonString)value).Value);
        Assert.False(((JsonString)value).TryGetAscii(out _));
    }

    [Theory]
    [MemberData(nameof(Offsets))]
    public void Base64_with_whitespace_anywhere_is_refused_and_a_line_break_is_skipped(int at)
    {
        var data = Enumerable.Range(0, 1200).Select(i => (byte)(i * 7)).ToArray();
        var text = Convert.ToBase64String(data); // 1600 characters
        foreach (var space in new[] { " ", "\t", "\r", "\f", "\v" })
            Assert.Null(LenientBase64.Decode(Ascii(text.Insert(at, space))));
        Assert.Equal(data, LenientBase64.Decode(Ascii(text.Insert(at, "\n"))));
        Assert.Equal(data, LenientBase64.Decode(Ascii(text)));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(5000)]
    [InlineData(70_000)]
    public void A_reply_line_is_exactly_the_written_json_and_a_newline(int length)
    {
        var data = Enumerable.Range(0, length).Select(i => (byte)i).ToArray();
        var reply = Replies.Return(JsonObject.Of(
            ("count", new JsonInt(length)),
            ("buf-b64", JsonString.Base64Of(data)),
            ("note", new JsonString("tab\there \u00e9 \u0001")),
            ("eof", JsonBool.True)), new JsonString("id-\u2028"));
        var expected = JsonWriter.ToJson(reply) + "\n";

        Assert.Equal(expected, System.Text.Encoding.ASCII.GetString(Replies.Line(reply)));
        Assert.Equal([0xFF, .. Ascii(expected)], Replies.Line(reply, delimited: true));
    }

    [Fact]
    public void A_reply_ending_in_an_escape_and_a_number_fits_its_measured_size()
    {
        // The writer asks for room for an escape or a number near the end of the line, more than is left.
        var reply = Replies.Return(new JsonArray([new JsonString("\u0001"), new JsonInt(long.MinValue)]), new JsonInt(-1));
        Assert.Equal(JsonWriter.ToJson(reply) + "\n", System.Text.Encoding.ASCII.GetString(Replies.Line(reply)));
    }
}
