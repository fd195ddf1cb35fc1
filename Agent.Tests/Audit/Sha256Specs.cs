using System.Text;
using Agent.Actors.Audit;

namespace Agent.Tests.Audit;

public sealed class Sha256Specs
{
    private static string Hex(byte[] digest) => Convert.ToHexStringLower(digest);

    [Theory]
    // The standard's published example vectors.
    [InlineData("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")]
    [InlineData("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")]
    [InlineData("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")]
    [InlineData("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
        "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1")]
    [InlineData("The quick brown fox jumps over the lazy dog", "d7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592")]
    public void Known_vectors(string input, string expected) =>
        Assert.Equal(expected, Hex(Sha256.Hash(Encoding.ASCII.GetBytes(input))));

    [Fact]
    public void One_million_a() =>
        Assert.Equal("cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
            Hex(Sha256.Hash(Enumerable.Repeat((byte)'a', 1_000_000).ToArray())));

    [Fact]
    public void Every_length_around_the_padding_boundaries_matches_the_platform_implementation()
    {
        // 55/56 and 119/120 bytes are where the length stops fitting in the last block.
        var random = new Random(12);
        for (var length = 0; length <= 300; length++)
        {
            var data = new byte[length];
            random.NextBytes(data);
            Assert.Equal(Hex(System.Security.Cryptography.SHA256.HashData(data)), Hex(Sha256.Hash(data)));
        }
    }
}
