using Agent.Protocol.Encoding;

namespace Agent.Tests.Protocol;

public class LenientBase64Specs
{
    [Theory]
    [InlineData("", "")]
    [InlineData("YWJj", "abc")]
    [InlineData("YWI=", "ab")]
    [InlineData("YQ==", "a")]
    [InlineData("YWJjZA==", "abcd")]
    [InlineData("YWJj\nZGVm\n", "abcdef")]
    // glib drops an incomplete final group instead of failing
    [InlineData("YWJjZA", "abc")]
    [InlineData("YWJjZGU", "abc")]
    [InlineData("YQ", "")]
    // '=' inside the data counts as a zero sextet and suppresses bytes of its group
    [InlineData("YQ==YWJj", "aabc")]
    // unused low bits of a padded group are ignored, as glib ignores them
    [InlineData("YR==", "a")]
    [InlineData("YWJ=", "ab")]
    // canonical except for a line break or a space: the fast path must not accept these
    [InlineData("YWJj\nZA==", "abcd")]
    public void Decodes_like_glib(string input, string expected) =>
        Assert.Equal(System.Text.Encoding.Latin1.GetBytes(expected), LenientBase64.Decode(input));

    [Theory]
    [InlineData("YW Jj")]
    [InlineData("YWJj\r\n")]
    [InlineData("YW-_")]
    [InlineData("\u00e9")]
    [InlineData("YQ\0")]
    public void Rejects_anything_outside_the_alphabet(string input) => Assert.Null(LenientBase64.Decode(input));

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(47)]
    [InlineData(49152)]
    [InlineData(49153)]
    public void Canonical_base64_of_any_length_round_trips(int length)
    {
        var data = new byte[length];
        new Random(length).NextBytes(data);
        Assert.Equal(data, LenientBase64.Decode(Convert.ToBase64String(data)));
    }

    [Fact]
    public void A_space_in_otherwise_canonical_base64_is_refused() =>
        Assert.Null(LenientBase64.Decode("YWJj    ")); // the runtime decoder would skip the spaces

    [Fact]
    public void Encodes_standard_padded_base64() =>
        Assert.Equal("AP8=", LenientBase64.Encode([0x00, 0xFF]));
}
