using Agent.Protocol.Json;
using static Agent.Tests.Protocol.ProtocolTestBytes;

namespace Agent.Tests.Protocol;

public class JsonStreamerSpecs
{
    private const string P = "E:JSON parse error, ";
    private const string Fffd = "\uFFFD";

    public static TheoryData<string, string[]> Cases => new()
    {
        // plain messages and qemu's extensions
        { "{\"execute\":\"guest-ping\"}", ["V:{\"execute\": \"guest-ping\"}"] },
        { " \t\r\n{\"a\" : [ 1 , 2 ] }\n", ["V:{\"a\": [1, 2]}"] },
        { "{'execute':'guest-ping'}", ["V:{\"execute\": \"guest-ping\"}"] },
        { "['it\\'s', \"say \\\"hi\\\"\", 'a\"b']", ["V:[\"it's\", \"say \\\"hi\\\"\", \"a\\\"b\"]"] },
        { "{}{}[]", ["V:{}", "V:{}", "V:[]"] },
        // scalars at top level need a delimiter
        { "12 ", ["V:12"] },
        { "12", [] },
        { "-0 ", ["V:0"] },
        { "true false null ", ["V:true", "V:false", "V:null"] },
        { "1.5 1e5 1E+2 2.5e-3 ", ["V:1.5", "V:100000", "V:100", "V:0.0025000000000000001"] },
        { "[0e5]", [P + "expected separator in list"] },
        // lexical errors: exact stray text, then recovery
        { "\xff", [P + "stray '" + Fffd + "'"] },
        { "\xfe", [P + "stray '" + Fffd + "'"] },
        { "01 ", [P + "stray '01'"] },
        { "-}", [P + "stray '-}'"] },
        { "1.]", [P + "stray '1.]'"] },
        { "A", [P + "stray 'A'"] },
        { "+1 ", [P + "stray '+'"] },
        { "\x00", [P + "stray ''"] },
        { "\"ab\x00", [P + "stray '\"ab'"] },
        { "\"ab\xff", [P + "stray '\"ab" + Fffd + "'"] },
        { "\xc3", [P + "stray '" + Fffd + "'"] },
        { "\xf8\x88\x80\x80\x80", [P + "stray '" + Fffd + "'"] },
        { "{\"execute\":\"guest-ping\x01\"}", [P + "stray '\"guest-ping\u0001'", P + "expecting value"] },
        // a half-lexed number or keyword is completed before the 0xFF error
        { "tru\xff", [P + "invalid keyword 'tru'", P + "stray '" + Fffd + "'"] },
        { "12\xff", ["V:12", P + "stray '" + Fffd + "'"] },
        // recovery drops printable input until a structural or control byte; tab does not resync
        { "\xff 12 tru {\"a\":1}", [P + "stray '" + Fffd + "'", "V:{\"a\": 1}"] },
        { "\xff\t12 {\"a\":1}", [P + "stray '" + Fffd + "'", "V:{\"a\": 1}"] },
        { "\xff\xff", [P + "stray '" + Fffd + "'", P + "stray '" + Fffd + "'"] },
        { "{\"a\":[1,\xff{\"b\":2}", [P + "stray '" + Fffd + "'", "V:{\"b\": 2}"] },
        { "{\"a\":[1,\x01 2]}", [P + "stray '\u0001'", P + "expecting value", P + "expecting value"] },
        // parser texts
        { "]", [P + "expecting value"] },
        { "}", [P + "expecting value"] },
        { "{}}", ["V:{}", P + "expecting value"] },
        { "{\"a\":1,\"a\":2}", [P + "duplicate key"] },
        { "{\"a\":{\"b\":1,\"b\":1}}", [P + "duplicate key"] },
        { "{\"a\" 1}", [P + "missing : in object pair"] },
        { "{1:2}", [P + "key is not a string in object"] },
        { "{\"a\":1 \"b\":2}", [P + "expected separator in dict"] },
        { "[1 2]", [P + "expected separator in list"] },
        { "[1,]", [P + "expecting value"] },
        { "{\"a\":}", [P + "expecting value"] },
        { "{\"a\":1]", [P + "expected separator in dict"] },
        { "foo ", [P + "invalid keyword 'foo'"] },
        { "[\"\\q\"]", [P + "invalid escape sequence in string"] },
        { "[\"\xc3(\"]", [P + "invalid UTF-8 sequence in string"] },
        { "[\"\xef\xbf\xbf\"]", [P + "invalid UTF-8 sequence in string"] },
        { "[\"\\u12\"]", [P + "\\u12\" is not a valid Unicode character"] },
        { "[\"\\uD800\\u0041\"]", [P + "\\uD800 is not a valid Unicode character"] },
        { "[\"\\uDC00\"]", [P + "\\uDC00 is not a valid Unicode character"] },
        { "[\"\\uFFFF\"]", [P + "\\uFFFF is not a valid Unicode character"] },
        { "[\"\\uDBFF\\uDFFF\"]", [P + "\\uDBFF\\uDFFF is not a valid Unicode character"] },
        // strings: escapes, surrogate pairs, NUL (escaped and as C0 80), raw UTF-8
        { "[\"\\uD83D\\uDE00\\u00e9\\/\\b\\f\\n\\r\\t\"]", ["V:[\"\\uD83D\\uDE00\\u00E9/\\b\\f\\n\\r\\t\"]"] },
        { "[\"\\u0000\xc0\x80\"]", ["V:[\"\\u0000\\u0000\"]"] },
        { "[\"\xc3\xa9\xe2\x80\x9c\xf0\x9f\x98\x80\"]", ["V:[\"\\u00E9\\u201C\\uD83D\\uDE00\"]"] },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Produces_qemus_items(string input, string[] expected) =>
        Assert.Equal(expected, Lex(input));

    [Fact]
    public void Integers_keep_int64_uint64_and_double_identity()
    {
        var items = new List<StreamItem>();
        new JsonStreamer().Feed(B("9223372036854775807 -9223372036854775808 9223372036854775808 18446744073709551615 18446744073709551616 -9223372036854775809 "), items);
        var values = items.Cast<StreamValue>().Select(v => v.Value).ToArray();
        Assert.Equal(new JsonInt(long.MaxValue), values[0]);
        Assert.Equal(new JsonInt(long.MinValue), values[1]);
        Assert.Equal(new JsonUInt(9223372036854775808UL), values[2]);
        Assert.Equal(new JsonUInt(ulong.MaxValue), values[3]);
        Assert.Equal(new JsonDouble(18446744073709551616d), values[4]);
        Assert.Equal(new JsonDouble(-9223372036854775809d), values[5]);
    }

    [Fact]
    public void Nesting_1024_is_fine_and_the_1025th_open_bracket_fails()
    {
        Assert.Equal(["V:" + new string('[', 1024) + new string(']', 1024)],
            Lex(new string('[', 1024) + new string(']', 1024)));
        Assert.Equal(["E:JSON nesting depth limit exceeded"], Lex(new string('[', 1025)));
    }

    [Fact]
    public void A_1025_deep_object_gives_one_nesting_error_then_expecting_value_per_close()
    {
        // [live] 1026 lines for {x1025 }x1025
        var items = Lex(new string('{', 1025) + new string('}', 1025));
        Assert.Equal(1026, items.Count);
        Assert.Equal("E:JSON nesting depth limit exceeded", items[0]);
        Assert.All(items.Skip(1), i => Assert.Equal(P + "expecting value", i));
    }

    [Fact]
    public void After_a_limit_error_the_rest_of_the_message_lexes_as_new_messages()
    {
        // [live] the tail '"a":1}}}...' yields a string value, an error for ':', a number, then one error per '}'
        var deep = string.Concat(Enumerable.Repeat("{\"a\":", 1025)) + "1" + new string('}', 1025);
        var items = Lex(deep);
        Assert.Equal(["E:JSON nesting depth limit exceeded", "V:\"a\"", P + "expecting value", "V:1"], items.Take(4));
        Assert.Equal(1029, items.Count);
        Assert.All(items.Skip(4), i => Assert.Equal(P + "expecting value", i));
    }

    [Fact]
    public void Token_count_limit_allows_2097152_tokens_and_rejects_the_next()
    {
        // "[" + "0," * n + "[]]" is 2n+4 tokens.
        int n = (1 << 20) - 2;
        var exact = "[" + string.Concat(Enumerable.Repeat("0,", n)) + "[]]";
        var ok = Lex(exact);
        Assert.Single(ok);
        Assert.StartsWith("V:[0, 0, ", ok[0]);

        var over = "[" + string.Concat(Enumerable.Repeat("0,", n + 1)) + "0]";  // 2^21 + 1 tokens
        Assert.Equal(["E:JSON token count limit exceeded"], Lex(over));
    }

    [Fact]
    public void Token_size_limit_counts_all_token_bytes_of_a_message()
    {
        // Two 40 MiB strings in one array exceed 64 MiB; the rest of the message then lexes on its own.
        var s = new string('x', 40 << 20);
        var items = Lex("[\"" + s + "\",\"" + s + "\"]");
        Assert.Equal(["E:JSON token size limit exceeded", P + "expecting value"], items);
    }

    [Fact]
    public void A_single_token_over_64_MiB_is_cut_and_lexing_restarts_mid_token()
    {
        // [live] qemu-ga 7.2: the cut piece is '"' + 64 MiB of x; the 10 x left over lex as a keyword.
        var bytes = B("[\"" + new string('x', (64 << 20) + 10) + "\"]\xff");
        var items = Lex(bytes);
        Assert.Equal(["E:JSON token size limit exceeded", P + "invalid keyword 'xxxxxxxxxx'", P + "stray '\"]" + Fffd + "'"], items);
    }

    [Fact]
    public void A_huge_keyword_error_is_cut_like_qemus_1024_byte_buffer()
    {
        var items = Lex("[" + new string('a', 2000) + "]");
        Assert.Equal(P + "invalid keyword '" + new string('a', 1023 - "invalid keyword '".Length), items.Single());
    }

    [Fact]
    public void Parser_state_survives_between_feeds()
    {
        var streamer = new JsonStreamer();
        var items = new List<StreamItem>();
        streamer.Feed(B("{\"execute\":\"guest-ping\""), items);
        Assert.Empty(items);
        Assert.True(streamer.PendingBytes > 0);
        streamer.Feed(B("{\"execute\":\"guest-ping\"}"), items);
        Assert.Empty(items); // nested inside the open object, as in qemu
        streamer.Feed(B("\xff{\"execute\":\"guest-ping\"}"), items);
        Assert.Equal([P + "stray '" + Fffd + "'", "V:{\"execute\": \"guest-ping\"}"], items.Select(Show));
        Assert.Equal(0, streamer.PendingBytes);
    }
}
