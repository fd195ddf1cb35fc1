using Agent.Actors.Audit;
using Agent.Protocol.Envelope;
using Agent.Protocol.Json;

namespace Agent.Tests.Audit;

public sealed class AuditRecordSpecs
{
    private static JsonString S(string s) => new(s);
    private static JsonInt I(long i) => new(i);
    private static JsonArray Strings(params string[] items) => new(items.Select(i => (JsonValue)new JsonString(i)).ToArray());

    public static readonly JsonObject ExecArguments = JsonObject.Of(
        ("path", S("/bin/sh")),
        ("arg", Strings("-c", "echo hi > /tmp/out")),
        ("env", Strings("PATH=/usr/bin:/bin", "API_TOKEN=hunter2")),
        ("input-data", S("c2VjcmV0IGlucHV0")),
        ("capture-output", JsonBool.True));

    public const string ExecRecord =
        "command=guest-exec argv=\"/bin/sh -c 'echo hi > /tmp/out'\" env=PATH,API_TOKEN input=yes result=ok pid=4242";

    public static readonly JsonObject PasswordArguments = JsonObject.Of(
        ("username", S("alice")), ("password", S("czNjcmV0LXB3")), ("crypted", JsonBool.False));

    public const string PasswordRecord = "command=guest-set-user-password user=alice crypted=false result=ok";

    [Fact]
    public void Guest_exec_has_argv_variable_names_and_pid_but_no_values_or_input()
    {
        var record = AuditRecord.Format("guest-exec", ExecArguments, JsonObject.Of(("pid", I(4242))), null);
        Assert.Equal(ExecRecord, record);
        Assert.DoesNotContain("hunter2", record);
        Assert.DoesNotContain("c2VjcmV0IGlucHV0", record);
    }

    [Fact]
    public void Set_user_password_names_only_the_user()
    {
        var record = AuditRecord.Format("guest-set-user-password", PasswordArguments, JsonObject.Empty, null);
        Assert.Equal(PasswordRecord, record);
        Assert.DoesNotContain("czNjcmV0LXB3", record);
        Assert.DoesNotContain("s3cret", record);
    }

    [Fact]
    public void Ssh_keys_appear_as_fingerprints_only()
    {
        var args = JsonObject.Of(("username", S("bob")),
            ("keys", Strings(SshKeyFingerprintSpecs.Ed25519, SshKeyFingerprintSpecs.Rsa)), ("reset", JsonBool.True));
        var record = AuditRecord.Format("guest-ssh-add-authorized-keys", args, JsonObject.Empty, null);
        Assert.Equal("command=guest-ssh-add-authorized-keys user=bob keys=" + SshKeyFingerprintSpecs.Ed25519Fingerprint + "," +
                     SshKeyFingerprintSpecs.RsaFingerprint + " reset=true result=ok", record);
        Assert.DoesNotContain("AAAA", record);
        Assert.DoesNotContain("alice@example", record);
    }

    [Fact]
    public void File_open_and_write_name_path_mode_handle_and_count_never_the_data()
    {
        Assert.Equal("command=guest-file-open path=\"/tmp/a b\" mode=w result=ok handle=1000",
            AuditRecord.Format("guest-file-open", JsonObject.Of(("path", S("/tmp/a b")), ("mode", S("w"))), I(1000), null));
        var write = AuditRecord.Format("guest-file-write",
            JsonObject.Of(("handle", I(1000)), ("buf-b64", S("ZmlsZSBjb250ZW50"))),
            JsonObject.Of(("count", I(12)), ("eof", JsonBool.False)), null);
        Assert.Equal("command=guest-file-write handle=1000 result=ok count=12", write);
    }

    [Fact]
    public void A_failure_carries_the_error_text()
    {
        Assert.Equal("command=guest-file-open path=/etc/shadow mode=r result=error error=\"guest-file-open: reading '/etc/shadow' is not allowed by agent.policy.file.read\"",
            AuditRecord.Format("guest-file-open", JsonObject.Of(("path", S("/etc/shadow"))), null,
                QmpError.Generic("guest-file-open: reading '/etc/shadow' is not allowed by agent.policy.file.read")));
    }

    [Fact]
    public void Control_characters_nul_and_bidi_overrides_are_escaped_so_one_record_stays_one_line()
    {
        var record = AuditRecord.Format("guest-file-open",
            JsonObject.Of(("path", S("/tmp/x\u0000.log\nfake=1 \u202e\"q\\")), ("mode", S("r"))), I(7), null);
        Assert.Equal("command=guest-file-open path=\"/tmp/x\\u0000.log\\nfake=1 \\u202e\\\"q\\\\\" mode=r result=ok handle=7", record);
    }

    [Fact]
    public void Guest_changing_commands_have_their_own_fields()
    {
        Assert.Equal("command=guest-shutdown mode=reboot result=ok",
            AuditRecord.Format("guest-shutdown", JsonObject.Of(("mode", S("reboot"))), JsonObject.Empty, null));
        Assert.Equal("command=guest-shutdown mode=powerdown result=ok",
            AuditRecord.Format("guest-shutdown", JsonObject.Empty, JsonObject.Empty, null));
        Assert.Equal("command=guest-suspend-ram result=ok",
            AuditRecord.Format("guest-suspend-ram", JsonObject.Empty, JsonObject.Empty, null));
        Assert.Equal("command=guest-set-time time=1700000000000000000 result=ok",
            AuditRecord.Format("guest-set-time", JsonObject.Of(("time", I(1700000000000000000))), JsonObject.Empty, null));
        Assert.Equal("command=guest-set-time time=rtc result=ok",
            AuditRecord.Format("guest-set-time", JsonObject.Empty, JsonObject.Empty, null));

        var vcpus = new JsonArray([
            JsonObject.Of(("logical-id", I(1)), ("online", JsonBool.True)),
            JsonObject.Of(("logical-id", I(2)), ("online", JsonBool.False)),
            JsonObject.Of(("logical-id", I(3)), ("online", JsonBool.False))]);
        Assert.Equal("command=guest-set-vcpus online=1 offline=2,3 result=ok processed=3",
            AuditRecord.Format("guest-set-vcpus", JsonObject.Of(("vcpus", vcpus)), I(3), null));

        var blocks = new JsonArray([JsonObject.Of(("phys-index", I(32)), ("online", JsonBool.False))]);
        var responses = new JsonArray([JsonObject.Of(("phys-index", I(32)), ("response", S("operation-failed")), ("error-code", I(16)))]);
        Assert.Equal("command=guest-set-memory-blocks online=\"\" offline=32 result=ok failed=32",
            AuditRecord.Format("guest-set-memory-blocks", JsonObject.Of(("mem-blks", blocks)), responses, null));

        Assert.Equal("command=guest-fsfreeze-freeze-list mountpoints=/,/home auto-thaw=60 result=ok frozen=2",
            AuditRecord.Format("guest-fsfreeze-freeze-list",
                JsonObject.Of(("mountpoints", Strings("/", "/home")), ("__org.actoragent_auto-thaw", I(60))), I(2), null));
        Assert.Equal("command=guest-fsfreeze-freeze result=ok frozen=3",
            AuditRecord.Format("guest-fsfreeze-freeze", JsonObject.Empty, I(3), null));
        Assert.Equal("command=guest-fsfreeze-thaw result=ok thawed=3",
            AuditRecord.Format("guest-fsfreeze-thaw", JsonObject.Empty, I(3), null));

        var trim = JsonObject.Of(("paths", new JsonArray([
            JsonObject.Of(("path", S("/")), ("trimmed", I(4096)), ("minimum", I(0))),
            JsonObject.Of(("path", S("/boot")), ("error", S("Operation not supported")))])));
        Assert.Equal("command=guest-fstrim minimum=0 result=ok trimmed=/ failed=/boot",
            AuditRecord.Format("guest-fstrim", JsonObject.Of(("minimum", I(0))), trim, null));

        Assert.Equal("command=guest-ssh-remove-authorized-keys user=bob keys=" + SshKeyFingerprintSpecs.EcdsaFingerprint + ",unrecognised result=ok",
            AuditRecord.Format("guest-ssh-remove-authorized-keys",
                JsonObject.Of(("username", S("bob")), ("keys", Strings(SshKeyFingerprintSpecs.Ecdsa, "garbage"))), JsonObject.Empty, null));
    }

    [Theory]
    [InlineData("guest-ping")]
    [InlineData("guest-info")]
    [InlineData("guest-file-read")]
    [InlineData("guest-exec-status")]
    [InlineData("guest-get-fsinfo")]
    public void Read_only_commands_leave_no_record(string command) => Assert.False(AuditRecord.Covers(command));

    [Fact]
    public void Argv_words_are_quoted_as_a_shell_would_read_them()
    {
        Assert.Equal("/bin/echo", AuditRecord.ShellWord("/bin/echo"));
        Assert.Equal("''", AuditRecord.ShellWord(""));
        Assert.Equal("'it'\\''s'", AuditRecord.ShellWord("it's"));
        Assert.Equal("'$HOME'", AuditRecord.ShellWord("$HOME"));
    }
}
