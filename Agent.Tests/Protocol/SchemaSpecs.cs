using Agent.Protocol.Json;
using Agent.Protocol.Schema;
using static Agent.Tests.Protocol.ProtocolTestBytes;

namespace Agent.Tests.Protocol;

public class SchemaSpecs
{
    private static readonly string[] HeadOrder =
    [
        "guest-sync-delimited", "guest-sync", "guest-ping", "guest-get-time", "guest-set-time", "guest-info",
        "guest-shutdown", "guest-file-open", "guest-file-close", "guest-file-read", "guest-file-write",
        "guest-file-seek", "guest-file-flush", "guest-fsfreeze-status", "guest-fsfreeze-freeze",
        "guest-fsfreeze-freeze-list", "guest-fsfreeze-thaw", "guest-fstrim", "guest-suspend-disk",
        "guest-suspend-ram", "guest-suspend-hybrid", "guest-network-get-interfaces", "guest-get-vcpus",
        "guest-set-vcpus", "guest-get-disks", "guest-get-fsinfo", "guest-set-user-password",
        "guest-get-memory-blocks", "guest-set-memory-blocks", "guest-get-memory-block-info",
        "guest-exec-status", "guest-exec", "guest-get-host-name", "guest-get-users", "guest-get-timezone",
        "guest-get-osinfo", "guest-ssh-get-authorized-keys", "guest-ssh-add-authorized-keys",
        "guest-ssh-remove-authorized-keys", "guest-get-diskstats", "guest-get-cpustats", "guest-get-load",
        "guest-network-get-route",
    ];

    [Fact]
    public void Table_lists_the_43_head_linux_commands_in_schema_order()
    {
        Assert.Equal(HeadOrder, QgaSchema.Commands.Select(c => c.Name));
        Assert.Null(QgaSchema.Find("guest-get-devices"));
        Assert.Equal("guest-exec", QgaSchema.Find("guest-exec")!.Name);
    }

    [Fact]
    public void No_reply_and_frozen_flags()
    {
        Assert.Equal(["guest-shutdown", "guest-suspend-disk", "guest-suspend-ram", "guest-suspend-hybrid"],
            QgaSchema.Commands.Where(c => !c.SuccessResponse).Select(c => c.Name));
        Assert.Equal(["guest-sync-delimited", "guest-sync", "guest-ping", "guest-info", "guest-fsfreeze-status", "guest-fsfreeze-thaw"],
            QgaSchema.Commands.Where(c => c.AllowedWhileFrozen).Select(c => c.Name));
    }

    [Fact]
    public void Extensions_append_to_a_table_and_names_stay_unique()
    {
        var table = QgaSchema.Standard.With([new CommandSchema("__com.example_hello", [new Member("who", StringType.Instance)])]);
        Assert.Equal(44, table.Commands.Count);
        Assert.Equal("__com.example_hello", table.Commands[^1].Name);
        Assert.NotNull(table.Find("__com.example_hello"));
        Assert.Null(QgaSchema.Find("__com.example_hello"));
        Assert.Throws<ArgumentException>(() => QgaSchema.Standard.With([new CommandSchema("guest-ping", [])]));
    }

    private static JsonObject Args(string json)
    {
        var items = new List<StreamItem>();
        new JsonStreamer().Feed(B(json), items);
        return (JsonObject)((StreamValue)items.Single()).Value;
    }

    private static string? Check(string command, string args) => ArgumentChecker.Check(QgaSchema.Find(command)!, Args(args));

    [Theory]
    // [live] texts from qemu-ga 7.2 (same visitor in HEAD)
    [InlineData("guest-sync", "{}", "Parameter 'id' is missing")]
    [InlineData("guest-sync", "{\"id\":1.0}", "Invalid parameter type for 'id', expected: integer")]
    [InlineData("guest-sync", "{\"id\":18446744073709551615}", "Invalid parameter type for 'id', expected: integer")]
    [InlineData("guest-sync", "{\"id\":\"1\"}", "Invalid parameter type for 'id', expected: integer")]
    [InlineData("guest-sync", "{\"id\":1,\"b\":1,\"c\":2,\"d\":3,\"e\":4,\"f\":5,\"g\":6,\"h\":7,\"i\":8,\"j\":9}", "Parameter 'b' is unexpected")]
    [InlineData("guest-ping", "{\"foo\":42}", "Parameter 'foo' is unexpected")]
    [InlineData("guest-ping", "{\"foo\":1,\"bar\":2}", "Parameter 'bar' is unexpected")]
    [InlineData("guest-ping", "{\"zz\":1,\"yy\":1,\"c\":2,\"d\":3,\"e\":4,\"f\":5,\"g\":6}", "Parameter 'e' is unexpected")]
    [InlineData("guest-exec-status", "{\"pid\":\"x\",\"foo\":1}", "Invalid parameter type for 'pid', expected: integer")]
    [InlineData("guest-exec", "{\"path\":\"/x\",\"arg\":[\"a\",1]}", "Invalid parameter type for 'arg[1]', expected: string")]
    [InlineData("guest-exec", "{\"path\":\"/x\",\"arg\":\"a\"}", "Invalid parameter type for 'arg', expected: array")]
    [InlineData("guest-exec", "{\"path\":\"/x\",\"capture-output\":1}", "Invalid parameter type for 'capture-output', expected: GuestExecCaptureOutput")]
    [InlineData("guest-exec", "{\"path\":\"/x\",\"capture-output\":\"all\"}", "Parameter 'capture-output' does not accept value 'all'")]
    [InlineData("guest-file-seek", "{\"handle\":1,\"offset\":0,\"whence\":true}", "Invalid parameter type for 'whence', expected: GuestFileWhence")]
    [InlineData("guest-file-seek", "{\"handle\":1,\"offset\":0,\"whence\":\"x\"}", "Parameter 'whence' does not accept value 'x'")]
    [InlineData("guest-file-seek", "{\"handle\":1,\"offset\":0,\"whence\":1.5}", "Invalid parameter type for 'whence', expected: integer")]
    [InlineData("guest-file-seek", "{\"handle\":1,\"whence\":0}", "Parameter 'offset' is missing")]
    [InlineData("guest-file-open", "{\"path\":\"/x\",\"mode\":null}", "Invalid parameter type for 'mode', expected: string")]
    [InlineData("guest-ssh-add-authorized-keys", "{\"username\":\"u\",\"keys\":[],\"reset\":1}", "Invalid parameter type for 'reset', expected: boolean")]
    [InlineData("guest-set-vcpus", "{\"vcpus\":[{\"logical-id\":0,\"online\":true},{\"online\":true}]}", "Parameter 'vcpus[1].logical-id' is missing")]
    [InlineData("guest-set-vcpus", "{\"vcpus\":[{\"logical-id\":\"x\",\"online\":true}]}", "Invalid parameter type for 'vcpus[0].logical-id', expected: integer")]
    [InlineData("guest-set-vcpus", "{\"vcpus\":[{\"logical-id\":0,\"online\":true,\"foo\":1}]}", "Parameter 'vcpus[0].foo' is unexpected")]
    [InlineData("guest-set-vcpus", "{\"vcpus\":[1]}", "Invalid parameter type for 'vcpus[0]', expected: object")]
    [InlineData("guest-set-memory-blocks", "{\"mem-blks\":[{\"phys-index\":\"1\",\"online\":true}]}", "Parameter 'mem-blks[0].phys-index' expects uint64")]
    [InlineData("guest-set-memory-blocks", "{\"mem-blks\":[{\"phys-index\":1.0,\"online\":true}]}", "Parameter 'mem-blks[0].phys-index' expects uint64")]
    public void Invalid_arguments_get_the_visitors_text(string command, string args, string expected) =>
        Assert.Equal(expected, Check(command, args));

    [Theory]
    [InlineData("guest-sync", "{\"id\":9223372036854775807}")]
    [InlineData("guest-sync", "{\"id\":-9223372036854775808}")]
    [InlineData("guest-ping", "{}")]
    [InlineData("guest-file-seek", "{\"handle\":1,\"offset\":-5,\"whence\":\"end\"}")]
    [InlineData("guest-file-seek", "{\"whence\":2,\"offset\":0,\"handle\":1}")]
    [InlineData("guest-exec", "{\"path\":\"/x\",\"arg\":[],\"env\":[\"A=1\"],\"input-data\":\"\",\"capture-output\":\"merged\"}")]
    [InlineData("guest-exec", "{\"path\":\"/x\",\"capture-output\":true}")]
    [InlineData("guest-set-memory-blocks", "{\"mem-blks\":[{\"phys-index\":-1,\"online\":true},{\"phys-index\":18446744073709551615,\"online\":false,\"can-offline\":true}]}")]
    [InlineData("guest-set-vcpus", "{\"vcpus\":[]}")]
    public void Valid_arguments_pass(string command, string args) => Assert.Null(Check(command, args));
}
