using Agent.Protocol.Envelope;
using Agent.Protocol.Json;

namespace Agent.Tests.Protocol;

public class JsonWriterSpecs
{
    [Theory]
    [InlineData(0.15, "0.14999999999999999")]
    [InlineData(1.0, "1")]
    [InlineData(-0.0, "-0")]
    [InlineData(0.0, "0")]
    [InlineData(100000.0, "100000")]
    [InlineData(1e16, "10000000000000000")]
    [InlineData(1e17, "1e+17")]
    [InlineData(1e300, "1.0000000000000001e+300")]
    [InlineData(0.0001, "0.0001")]
    [InlineData(0.00001, "1.0000000000000001e-05")]
    [InlineData(2.5e-3, "0.0025000000000000001")]
    [InlineData(-1.5, "-1.5")]
    [InlineData(123456.789, "123456.789")]
    [InlineData(5e-324, "4.9406564584124654e-324")]
    [InlineData(double.MaxValue, "1.7976931348623157e+308")]
    public void Doubles_print_like_percent_17g(double value, string expected) =>
        Assert.Equal(expected, JsonWriter.ToJson(new JsonDouble(value)));

    [Theory]
    [InlineData(double.PositiveInfinity, "inf")]
    [InlineData(double.NegativeInfinity, "-inf")]
    public void FormatG17_spells_non_finite_values_as_glibc_does(double value, string expected) =>
        Assert.Equal(expected, JsonWriter.FormatG17(value));

    [Fact]
    public void Integers_print_signed_and_unsigned_in_full() =>
        Assert.Equal("[-9223372036854775808, 9223372036854775807, 18446744073709551615]",
            JsonWriter.ToJson(new JsonArray([new JsonInt(long.MinValue), new JsonInt(long.MaxValue), new JsonUInt(ulong.MaxValue)])));

    [Theory]
    [InlineData("plain / slash", "\"plain / slash\"")]
    [InlineData("q\"b\\", "\"q\\\"b\\\\\"")]
    [InlineData("\b\f\n\r\t", "\"\\b\\f\\n\\r\\t\"")]
    [InlineData("\u0001\u001f\u0000", "\"\\u0001\\u001F\\u0000\"")]
    [InlineData("\u007f\u00e9\u201c", "\"\\u007F\\u00E9\\u201C\"")]
    [InlineData("\U0001F600", "\"\\uD83D\\uDE00\"")]
    [InlineData("\ufffe\ufdd0", "\"\\uFFFD\\uFFFD\"")]
    public void Strings_escape_like_qemu(string value, string expected) =>
        Assert.Equal(expected, JsonWriter.ToJson(new JsonString(value)));

    [Fact]
    public void Unpaired_surrogates_become_replacement_characters() =>
        Assert.Equal("\"\\uFFFDx\\uFFFD\"", JsonWriter.ToJson(new JsonString("\ud800x\udc00")));

    [Fact]
    public void Long_strings_with_escapes_cross_buffer_segments()
    {
        var s = string.Concat(Enumerable.Repeat("\u00e9a\U0001F600\n", 5000));
        var expected = "\"" + string.Concat(Enumerable.Repeat("\\u00E9a\\uD83D\\uDE00\\n", 5000)) + "\"";
        Assert.Equal(expected, JsonWriter.ToJson(new JsonString(s)));
    }

    [Fact]
    public void Separators_and_empty_containers() =>
        Assert.Equal("{\"a\": [1, 2], \"b\": {}, \"c\": []}",
            JsonWriter.ToJson(JsonObject.Of(("a", new JsonArray([new JsonInt(1), new JsonInt(2)])), ("b", JsonObject.Empty), ("c", JsonArray.Empty))));

    [Fact]
    public void Members_come_out_in_qemus_qdict_order()
    {
        // [live] qemu-ga 7.2: {"return": 1, "id": 5}, {"id": 7, "error": ...},
        // guest-info entries {"enabled": .., "name": .., "success-response": ..}, and an echoed id object sorted.
        Assert.Equal("{\"return\": 1, \"id\": 5}", JsonWriter.ToJson(Replies.Return(new JsonInt(1), new JsonInt(5))));
        Assert.Equal("{\"id\": 7, \"error\": {\"class\": \"GenericError\", \"desc\": \"x\"}}",
            JsonWriter.ToJson(Replies.Error(QmpError.Generic("x"), new JsonInt(7))));
        Assert.Equal("{\"enabled\": true, \"name\": \"guest-ping\", \"success-response\": true}",
            JsonWriter.ToJson(JsonObject.Of(("name", new JsonString("guest-ping")), ("enabled", JsonBool.True), ("success-response", JsonBool.True))));
        Assert.Equal("{\"version\": \"7.2.22\", \"supported_commands\": []}",
            JsonWriter.ToJson(JsonObject.Of(("version", new JsonString("7.2.22")), ("supported_commands", JsonArray.Empty))));
        Assert.Equal("{\"a\": 2, \"b\": 1}", JsonWriter.ToJson(JsonObject.Of(("b", new JsonInt(1)), ("a", new JsonInt(2)))));
    }

    [Theory]
    [InlineData("")]
    [InlineData("return")]
    [InlineData("success-response")]
    [InlineData("a\u0000b")]
    [InlineData("caf\u00e9")]
    [InlineData("\U0001F600x")]
    [InlineData("\u007F~")]
    public void A_bucket_is_tdb_hash_of_the_modified_utf8_bytes_modulo_512(string key)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(key).SelectMany(b => b == 0 ? new byte[] { 0xC0, 0x80 } : [b]).ToArray();
        uint value = unchecked(0x238F13AFu * (uint)bytes.Length);
        for (int i = 0; i < bytes.Length; i++) value = unchecked(value + ((uint)bytes[i] << (i * 5 % 24)));
        Assert.Equal((int)(unchecked(1103515243u * value + 12345u) % 512), QDictOrder.Bucket(key));
    }

    [Fact]
    public void Within_one_bucket_the_newest_member_comes_first()
    {
        // Find two keys sharing a tdb_hash bucket.
        var byBucket = new Dictionary<int, string>();
        string first = "", second = "";
        for (int i = 0; ; i++)
        {
            var key = "k" + i;
            int bucket = QDictOrder.Bucket(key);
            if (byBucket.TryGetValue(bucket, out var other))
            {
                (first, second) = (other, key);
                break;
            }
            byBucket[bucket] = key;
        }
        var json = JsonWriter.ToJson(JsonObject.Of((first, new JsonInt(1)), (second, new JsonInt(2))));
        Assert.Equal($"{{\"{second}\": 2, \"{first}\": 1}}", json);
    }

    [Fact]
    public void Reply_lines_end_in_newline_and_delimited_ones_start_with_0xFF()
    {
        var reply = Replies.Return(new JsonInt(123), null);
        Assert.Equal("{\"return\": 123}\n"u8.ToArray(), Replies.Line(reply));
        Assert.Equal([0xFF, .. "{\"return\": 123}\n"u8.ToArray()], Replies.Line(reply, delimited: true));
    }

    [Fact]
    public void Output_is_ascii_only()
    {
        var value = new JsonArray([new JsonString("\u0080\u07ff\uffff\U0010FFFF"), new JsonDouble(0.1)]);
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        JsonWriter.Write(value, buffer);
        Assert.All(buffer.WrittenSpan.ToArray(), b => Assert.InRange(b, (byte)0x20, (byte)0x7E));
    }
}
