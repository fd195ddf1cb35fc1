using System.Text;
using Agent.Protocol.Json;
using Agent.Protocol.Schema;

namespace Agent.Tests.Protocol.Schema;

public class ArgumentRecordsSpecs
{
    private const string Regenerate = "REGENERATE_ARGUMENT_RECORDS";

    /// <summary>
    /// The checked-in records are what the schema makes; with REGENERATE_ARGUMENT_RECORDS=1 this
    /// spec writes them instead (then rebuild).
    /// </summary>
    [Fact]
    public void Checked_in_records_match_the_schema()
    {
        var expected = ArgumentRecords.Generate(QgaSchema.Standard.With(ExtensionSchema.Commands).Commands);
        var path = Path.Combine(RepositoryRoot(), ArgumentRecords.FilePath);
        if (Environment.GetEnvironmentVariable(Regenerate) == "1")
            File.WriteAllText(path, expected, new UTF8Encoding(false));
        var actual = File.Exists(path) ? File.ReadAllText(path) : "";
        Assert.True(expected == actual,
            $"{ArgumentRecords.FilePath} is not what the schema makes. Regenerate it with " +
            $"`{Regenerate}=1 dotnet test Agent.Tests -c Release --filter FullyQualifiedName~ArgumentRecordsSpecs`, then rebuild.");
    }

    [Fact]
    public void Generation_is_stable_and_covers_every_command()
    {
        var commands = QgaSchema.Standard.With(ExtensionSchema.Commands).Commands;
        var text = ArgumentRecords.Generate(commands);
        Assert.Equal(text, ArgumentRecords.Generate(commands));
        foreach (var c in commands)
            Assert.Contains($"public static string Command => \"{c.Name}\";", text);
    }

    [Fact]
    public void A_command_without_arguments_binds_to_its_singleton()
    {
        Assert.Same(GuestPingArguments.Instance, GuestPingArguments.Bind(JsonObject.Empty));
        Assert.Equal("guest-ping", Command<GuestPingArguments>());
        Assert.Equal("__org.actoragent_get-power-capabilities", Command<GetPowerCapabilitiesArguments>());
    }

    [Fact]
    public void Array_of_structs_binds_each_element_with_optional_members_null()
    {
        var a = GuestSetVcpusArguments.Bind(Parse("""{"vcpus": [{"logical-id": 1, "online": false}, {"logical-id": 2, "online": true, "can-offline": true}]}"""));
        Assert.Equal([new GuestLogicalProcessor(1, false, null), new GuestLogicalProcessor(2, true, true)], a.Vcpus);

        var m = GuestSetMemoryBlocksArguments.Bind(Parse("""{"mem-blks": [{"phys-index": 18446744073709551615, "online": true}, {"phys-index": -1, "online": false}]}"""));
        Assert.Equal([ulong.MaxValue, ulong.MaxValue], m.MemBlks.Select(b => b.PhysIndex));
        Assert.Equal([true, false], m.MemBlks.Select(b => b.Online));
    }

    [Fact]
    public void Optional_arguments_read_null_when_absent()
    {
        var open = GuestFileOpenArguments.Bind(Parse("""{"path": "/tmp/x"}"""));
        Assert.Equal(("/tmp/x", null), (open.Path, open.Mode));
        var write = GuestFileWriteArguments.Bind(Parse("""{"handle": 7, "buf-b64": "AA==", "count": 1}"""));
        Assert.Equal((7L, "AA==", (long?)1), (write.Handle, write.BufB64.Value, write.Count));
        Assert.Null(GuestSetTimeArguments.Bind(JsonObject.Empty).Time);
        Assert.Equal("guest-file-open", Command<GuestFileOpenArguments>());
    }

    [Fact]
    public void Extension_arguments_drop_the_downstream_prefix()
    {
        var exec = GuestExecArguments.Bind(Parse(
            """{"path": "/bin/true", "arg": ["-a"], "__org.actoragent_timeout": 1.5, "__org.actoragent_working-directory": "/", "__org.actoragent_keep-result": true}"""));
        Assert.Equal((1.5, "/", (bool?)true), (exec.Timeout, exec.WorkingDirectory, exec.KeepResult));
        Assert.Equal(["-a"], exec.Arg!);
        Assert.Null(exec.Env);
        Assert.Null(exec.CaptureOutput);

        Assert.Equal(30L, GuestFsfreezeFreezeArguments.Bind(Parse("""{"__org.actoragent_auto-thaw": 30}""")).AutoThaw);
        var kill = GuestExecKillArguments.Bind(Parse("""{"pid": 12}"""));
        Assert.Equal((12L, (long?)null), (kill.Pid, kill.Signal));
        Assert.Equal("__org.actoragent_guest-exec-kill", Command<GuestExecKillArguments>());
    }

    [Fact]
    public void Alternates_set_the_branch_the_json_type_picked()
    {
        Assert.Equal(new GuestFileWhence(Int: 2), GuestFileSeekArguments.Bind(Parse("""{"handle": 1, "offset": 0, "whence": 2}""")).Whence);
        Assert.Equal(new GuestFileWhence(Enum: "end"), GuestFileSeekArguments.Bind(Parse("""{"handle": 1, "offset": 0, "whence": "end"}""")).Whence);
        Assert.Equal(new GuestExecCaptureOutput(Bool: true), GuestExecArguments.Bind(Parse("""{"path": "x", "capture-output": true}""")).CaptureOutput);
        Assert.Equal(new GuestExecCaptureOutput(Enum: "merged"), GuestExecArguments.Bind(Parse("""{"path": "x", "capture-output": "merged"}""")).CaptureOutput);
    }

    [Fact]
    public void Property_names_are_pascal_case_without_the_downstream_prefix()
    {
        Assert.Equal("GuestFileOpen", ArgumentRecords.PascalCase("guest-file-open"));
        Assert.Equal("BufB64", ArgumentRecords.PascalCase("buf-b64"));
        Assert.Equal("AutoThaw", ArgumentRecords.PascalCase("__org.actoragent_auto-thaw"));
        Assert.Equal("GuestExecReadOutput", ArgumentRecords.PascalCase("__org.actoragent_guest-exec-read-output"));
    }

    private static string Command<T>() where T : ICommandArguments<T> => T.Command;

    private static JsonObject Parse(string json)
    {
        var items = new List<StreamItem>();
        new JsonStreamer().Feed(Encoding.UTF8.GetBytes(json), items);
        return (JsonObject)((StreamValue)Assert.Single(items)).Value;
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "ActorAgent.sln"))) return dir.FullName;
        throw new InvalidOperationException("ActorAgent.sln not found above " + AppContext.BaseDirectory);
    }
}
