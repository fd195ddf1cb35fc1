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
    public void Decodes_like_glib(string input, string expected) =>
        Assert.Equal(System.Text.Encoding.Latin1.GetBytes(expected), LenientBase64.Decode(input));

    [Theory]
    [InlineData("YW Jj")]
    [InlineData("YWJj\r\n")]
    [InlineData("YW-_")]
    [InlineData("\u00e9")]
    [InlineData("YQ\0")]
    public void Rejects_anything_outside_the_alphabet(string input) => Assert.Null(LenientBase64.Decode(input));

    [Fact]
    public void Encodes_standard_padded_base64() =>
        Assert.Equal("AP8=", LenientBase64.Encode([0x00, 0xFF]));
}
