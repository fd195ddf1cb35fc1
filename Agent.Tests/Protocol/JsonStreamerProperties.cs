using Agent.Protocol.Json;
using CsCheck;
using static Agent.Tests.Protocol.ProtocolTestBytes;

namespace Agent.Tests.Protocol;

public class JsonStreamerProperties
{
    private static readonly string[] Pieces =
    [
        "{\"execute\":\"guest-sync\",\"arguments\":{\"id\":1234567890123}}",
        "{'execute':'guest-ping'}",
        "{\"execute\":\"guest-info\",\"id\":[1,{\"a\":null}]}",
        " ", "\n", "\t", "\r\n",
        "{\"a\":\"\\u00e9\\uD83D\\uDE00 \xc3\xa9\",\"b\":-0.5e-3,\"c\":[true,false,null]}",
        "['x\\'y']",
        "42 ", "-7\n", "18446744073709551615 ",
    ];

    private static readonly Gen<byte[]> ValidStream =
        Gen.Int[0, Pieces.Length - 1].Array[1, 12].Select(ix => B(string.Concat(ix.Select(i => Pieces[i]))));

    [Fact]
    public void Any_split_of_a_stream_yields_the_same_items()
    {
        Gen.Select(ValidStream, Gen.Int[1, 64].Array[0, 20]).Sample((stream, cuts) =>
        {
            var whole = new List<StreamItem>();
            new JsonStreamer().Feed(stream, whole);

            var chunked = new List<StreamItem>();
            var streamer = new JsonStreamer();
            int pos = 0;
            foreach (int cut in cuts)
            {
                int len = Math.Min(cut, stream.Length - pos);
                streamer.Feed(stream.AsSpan(pos, len), chunked);
                pos += len;
            }
            streamer.Feed(stream.AsSpan(pos), chunked);

            Assert.Equal(whole.Select(Show), chunked.Select(Show));
            Assert.DoesNotContain(whole, i => i is StreamError);
        }, iter: 2000);
    }

    [Fact]
    public void Byte_at_a_time_equals_all_at_once()
    {
        ValidStream.Sample(stream =>
        {
            var whole = new List<StreamItem>();
            new JsonStreamer().Feed(stream, whole);
            var single = new List<StreamItem>();
            var streamer = new JsonStreamer();
            foreach (byte b in stream) streamer.Feed([b], single);
            Assert.Equal(whole.Select(Show), single.Select(Show));
        }, iter: 500);
    }

    // Bytes biased towards the interesting ones: structure, quotes, escapes, controls, 0xFF.
    private static readonly Gen<byte> NastyByte = Gen.Frequency(
        (4, Gen.Byte),
        (6, Gen.OneOfConst("{}[],:\"'\\-0123456789.eEtrufalsn u".Select(c => (byte)c).ToArray())),
        (1, Gen.OneOfConst<byte>(0xFF, 0xFE, 0x00, 0x01, 0x1F, 0xC0, 0x80, 0xED)));

    [Fact]
    public void Random_bytes_never_throw_and_memory_stays_bounded()
    {
        Gen.Select(NastyByte.Array[0, 4000], Gen.Int[1, 512]).Sample((bytes, chunk) =>
        {
            var streamer = new JsonStreamer();
            var items = new List<StreamItem>();
            for (int pos = 0; pos < bytes.Length; pos += chunk)
            {
                streamer.Feed(bytes.AsSpan(pos, Math.Min(chunk, bytes.Length - pos)), items);
                Assert.InRange(streamer.PendingBytes, 0, pos + chunk);
            }
            // An error always resets the message: what is pending came after the last item.
            Assert.All(items, i => Assert.True(i is StreamValue or StreamError { Desc.Length: > 0 }));
            // 0xFF then a request always gets that request through.
            var after = new List<StreamItem>();
            streamer.Feed(B("\xff{\"execute\":\"guest-ping\"}"), after);
            Assert.Equal("V:{\"execute\": \"guest-ping\"}", Show(after[^1]));
            Assert.Equal(0, streamer.PendingBytes);
        }, iter: 1500);
    }

    [Fact]
    public void Random_bytes_lex_the_same_in_one_go_and_byte_by_byte()
    {
        NastyByte.Array[0, 2000].Sample(bytes =>
        {
            var whole = new List<StreamItem>();
            new JsonStreamer().Feed(bytes, whole);
            var single = new List<StreamItem>();
            var streamer = new JsonStreamer();
            foreach (byte b in bytes) streamer.Feed([b], single);
            Assert.Equal(whole.Select(Show), single.Select(Show));
        }, iter: 1000);
    }

    [Fact]
    public void Deep_nesting_and_long_garbage_stay_bounded()
    {
        var streamer = new JsonStreamer();
        var items = new List<StreamItem>();
        var chunk = B(new string('[', 1000) + new string('{', 1000));
        for (int i = 0; i < 200; i++)
        {
            streamer.Feed(chunk, items);
            Assert.True(streamer.PendingBytes <= 1024, $"pending {streamer.PendingBytes} after {i} chunks");
        }
        Assert.All(items, i => Assert.Equal("E:JSON nesting depth limit exceeded", Show(i)));
        Assert.Equal(200 * 2000 / 1025, items.Count);
    }
}
