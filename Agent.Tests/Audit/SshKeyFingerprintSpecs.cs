using Agent.Actors.Audit;

namespace Agent.Tests.Audit;

/// <summary>Expected values are what `ssh-keygen -l -f key.pub` (OpenSSH 9) printed for these keys.</summary>
public sealed class SshKeyFingerprintSpecs
{
    public const string Ed25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPzXAlLu6SinWm+XEC8Hiso3UFQalRdmb6wi5WxZaULW alice@example";
    public const string Ed25519Fingerprint = "SHA256:0gmr7i+/9JcOwU5Q0Cavhxv59v9Ds57IpgfS82hzN4w";

    public const string Rsa = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDWBJzNulonAI2iRv2RMA1Cc2TG4L3ZSxa3+JDUWF1eK1Rf44rrGfnOgPoxccAx/xD3hE8M4SGFlYuqAhNPtSN88yIElFKtXg5QZhcqntlp/jDo47loFOuEVhyN5vMF7g45eSV0E6WT7+0hujQvV2IHo+IqED4h9biLsVlosCTXlw==";
    public const string RsaFingerprint = "SHA256:AtQk/Gcw+mVfTd4e+oCmcebTzZ9nt3eXsb5msz/Yyp8";

    public const string Ecdsa = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBIXlRUaYIg9kYhEp4Sp2dk+LGT0NDVMZbY6bQZNNr03FS+PdQXEWKc35oz8K3n2h/FU0JFCTGsaJTYQii3kUi9k= x y";
    public const string EcdsaFingerprint = "SHA256:ngC5kd6MCaF5stXxIh8TwnCbiD9I+CJ/N5StLHNRP2g";

    [Theory]
    [InlineData(Ed25519, Ed25519Fingerprint)]
    [InlineData(Rsa, RsaFingerprint)]
    [InlineData(Ecdsa, EcdsaFingerprint)]
    public void Matches_ssh_keygen(string line, string fingerprint) => Assert.Equal(fingerprint, SshKeyFingerprint.Of(line));

    [Fact]
    public void Options_before_the_key_even_with_quoted_spaces_do_not_change_it() =>
        Assert.Equal(Ed25519Fingerprint, SshKeyFingerprint.Of("command=\"echo a b\",no-pty\t" + Ed25519));

    [Theory]
    [InlineData("not a key")]
    [InlineData("ssh-ed25519 AAAAB3NzaC1yc2EAAAADAQAB")] // a blob that names another type
    [InlineData("ssh-rsa !!!!")]
    [InlineData("")]
    public void Anything_else_is_unrecognised(string line) => Assert.Equal(SshKeyFingerprint.Unrecognised, SshKeyFingerprint.Of(line));
}
