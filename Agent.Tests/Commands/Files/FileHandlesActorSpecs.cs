using Agent.Actors.Commands.Files;
using Agent.Actors.Settings;
using Agent.Protocol.Json;
using Akka.Actor;
using Agent.Tests.Commands;
using Xunit.Abstractions;

namespace Agent.Tests.Commands.Files;

/// <summary>guest-file-* against the actor, with qemu-ga 7.2's answers (probed live) as the expectations.</summary>
public sealed class FileHandlesActorSpecs(ITestOutputHelper output) : FamilySpec(output)
{
    private static readonly byte[] HelloWorld = "Hello World!\n\0"u8.ToArray();

    internal static readonly FilesSettings DefaultSettings = AgentSettings.Create(Akka.Configuration.ConfigurationFactory.ParseString("")).Files;

    private IActorRef Files() => Sys.ActorOf(FileHandlesActor.Props(Dir, DefaultSettings));

    private string PathOf(string name) => Path.Combine(Dir, name);

    [Fact]
    public async Task Test_qga_file_ops_sequence_gives_the_same_answers()
    {
        var files = Files();
        var foo = PathOf("foo");
        var handle = ((JsonInt)await Ok(files, "guest-file-open", ("path", S(foo)), ("mode", S("w+")))).Value;
        Assert.Equal(1000, handle);

        var write = await Ok(files, "guest-file-write", ("handle", I(handle)), ("buf-b64", S(Convert.ToBase64String(HelloWorld))));
        Assert.Equal(14, Member(write, "count"));
        Assert.False(Flag(write, "eof"));
        Assert.Equal(JsonObject.Empty, await Ok(files, "guest-file-flush", ("handle", I(handle))));
        Assert.Equal(JsonObject.Empty, await Ok(files, "guest-file-close", ("handle", I(handle))));
        Assert.Equal(HelloWorld, await File.ReadAllBytesAsync(foo));

        handle = ((JsonInt)await Ok(files, "guest-file-open", ("path", S(foo)), ("mode", S("r")))).Value;
        Assert.Equal(1001, handle);
        var read = await Ok(files, "guest-file-read", ("handle", I(handle)));
        Assert.Equal(14, Member(read, "count"));
        Assert.True(Flag(read, "eof"));
        Assert.Equal(Convert.ToBase64String(HelloWorld), Text(read, "buf-b64"));

        read = await Ok(files, "guest-file-read", ("handle", I(handle)));
        Assert.Equal(0, Member(read, "count"));
        Assert.True(Flag(read, "eof"));
        Assert.Equal("", Text(read, "buf-b64"));

        var seek = await Ok(files, "guest-file-seek", ("handle", I(handle)), ("offset", I(6)), ("whence", S("set")));
        Assert.Equal(6, Member(seek, "position"));
        Assert.False(Flag(seek, "eof"));

        read = await Ok(files, "guest-file-read", ("handle", I(handle)));
        Assert.Equal(8, Member(read, "count"));
        Assert.True(Flag(read, "eof"));
        Assert.Equal(HelloWorld[6..], Convert.FromBase64String(Text(read, "buf-b64")));
        await Ok(files, "guest-file-close", ("handle", I(handle)));
    }

    [Fact]
    public async Task A_NUL_in_the_path_is_kept_as_C0_80_so_X_NUL_log_never_opens_X()
    {
        var files = Files();
        await File.WriteAllTextAsync(PathOf("X"), "original");
        var handle = await Ok(files, "guest-file-open", ("path", S(PathOf("X\u0000.log"))), ("mode", S("w")));
        await Ok(files, "guest-file-write", ("handle", handle), ("buf-b64", S(Convert.ToBase64String("new"u8.ToArray()))));
        await Ok(files, "guest-file-close", ("handle", handle));

        Assert.Equal("original", await File.ReadAllTextAsync(PathOf("X")));
        Assert.Single(Directory.GetFiles(Dir), f => Path.GetFileName(f).StartsWith('X') && f.EndsWith(".log"));
        Assert.Equal([.. global::System.Text.Encoding.UTF8.GetBytes(PathOf("X")), 0xC0, 0x80, .. ".log"u8],
            Agent.Actors.Platform.OsString.Encode(PathOf("X\u0000.log")));
        // The same name opens the same file again, and "X" followed by NUL alone is not "X".
        handle = await Ok(files, "guest-file-open", ("path", S(PathOf("X\u0000.log"))), ("mode", S("r")));
        Assert.Equal(Convert.ToBase64String("new"u8.ToArray()), Text(await Ok(files, "guest-file-read", ("handle", handle)), "buf-b64"));
        await Ok(files, "guest-file-close", ("handle", handle));
        Assert.Contains("No such file or directory", await Fails(files, "guest-file-open", ("path", S(PathOf("X\u0000"))), ("mode", S("r"))));
    }

    [Fact]
    public async Task Test_qga_file_write_read_sequence_reads_at_the_end_after_the_implicit_flush()
    {
        var files = Files();
        var handle = await Ok(files, "guest-file-open", ("path", S(PathOf("foo"))), ("mode", S("w+")));
        var write = await Ok(files, "guest-file-write", ("handle", handle), ("buf-b64", S(Convert.ToBase64String(HelloWorld))));
        Assert.Equal(JsonObject.Of(("count", I(14)), ("eof", JsonBool.False)), write);

        var read = await Ok(files, "guest-file-read", ("handle", handle));
        Assert.Equal(JsonObject.Of(("count", I(0)), ("buf-b64", S("")), ("eof", JsonBool.True)), read);

        var seek = await Ok(files, "guest-file-seek", ("handle", handle), ("offset", I(0)), ("whence", S("set")));
        Assert.Equal(JsonObject.Of(("position", I(0)), ("eof", JsonBool.False)), seek);

        read = await Ok(files, "guest-file-read", ("handle", handle));
        Assert.Equal(JsonObject.Of(("count", I(14)), ("buf-b64", S(Convert.ToBase64String(HelloWorld))), ("eof", JsonBool.True)), read);
        await Ok(files, "guest-file-close", ("handle", handle));
    }

    [Fact]
    public async Task A_relative_path_resolves_against_the_agents_working_directory()
    {
        var files = Files();
        await File.WriteAllTextAsync(PathOf("rel"), "relative");
        var relative = Path.GetRelativePath(Environment.CurrentDirectory, PathOf("rel"));
        Assert.False(Path.IsPathRooted(relative));

        var handle = await Ok(files, "guest-file-open", ("path", S(relative)));
        var read = await Ok(files, "guest-file-read", ("handle", handle));
        Assert.Equal("relative", global::System.Text.Encoding.ASCII.GetString(Convert.FromBase64String(Text(read, "buf-b64"))));
    }

    /// <summary>
    /// Each mode on an existing "abc": read 1, write "XY", seek 0, read all, close. The columns are
    /// what qemu-ga (glibc fopen) answers: a read-only or write-only stream fails with EBADF, r+ writes
    /// after the byte it read (implicit seek), a and a+ always append.
    /// </summary>
    [Theory]
    [InlineData("r", "a", "EBADF", "abc", "abc")]
    [InlineData("rb", "a", "EBADF", "abc", "abc")]
    [InlineData("w", "EBADF", "2", "EBADF", "XY")]
    [InlineData("wb", "EBADF", "2", "EBADF", "XY")]
    [InlineData("a", "EBADF", "2", "EBADF", "abcXY")]
    [InlineData("ab", "EBADF", "2", "EBADF", "abcXY")]
    [InlineData("r+", "a", "2", "aXY", "aXY")]
    [InlineData("rb+", "a", "2", "aXY", "aXY")]
    [InlineData("r+b", "a", "2", "aXY", "aXY")]
    [InlineData("w+", "", "2", "XY", "XY")]
    [InlineData("wb+", "", "2", "XY", "XY")]
    [InlineData("w+b", "", "2", "XY", "XY")]
    [InlineData("a+", "a", "2", "abcXY", "abcXY")]
    [InlineData("ab+", "a", "2", "abcXY", "abcXY")]
    [InlineData("a+b", "a", "2", "abcXY", "abcXY")]
    public async Task Every_mode_reads_writes_and_appends_like_fopen(string mode, string firstRead, string write, string reread, string content)
    {
        var files = Files();
        var path = PathOf("abc");
        await File.WriteAllTextAsync(path, "abc");
        var handle = await Ok(files, "guest-file-open", ("path", S(path)), ("mode", S(mode)));

        await ExpectRead(files, handle, 1, firstRead);
        if (write == "EBADF")
            Assert.Equal("failed to write to file: Bad file descriptor",
                await Fails(files, "guest-file-write", ("handle", handle), ("buf-b64", B64("XY"))));
        else
            Assert.Equal(2, Member(await Ok(files, "guest-file-write", ("handle", handle), ("buf-b64", B64("XY"))), "count"));
        Assert.Equal(0, Member(await Ok(files, "guest-file-seek", ("handle", handle), ("offset", I(0)), ("whence", I(0))), "position"));
        await ExpectRead(files, handle, 100, reread);
        await Ok(files, "guest-file-close", ("handle", handle));
        Assert.Equal(content, await File.ReadAllTextAsync(path));
    }

    private async Task ExpectRead(IActorRef files, JsonValue handle, long count, string expected)
    {
        if (expected == "EBADF")
        {
            Assert.Equal("failed to read file: Bad file descriptor",
                await Fails(files, "guest-file-read", ("handle", handle), ("count", I(count))));
            return;
        }
        var read = await Ok(files, "guest-file-read", ("handle", handle), ("count", I(count)));
        Assert.Equal(expected, global::System.Text.Encoding.Latin1.GetString(Convert.FromBase64String(Text(read, "buf-b64"))));
        Assert.Equal(expected.Length, Member(read, "count"));
        Assert.Equal(expected.Length < count, Flag(read, "eof"));
    }

    [Theory]
    [InlineData("w")]
    [InlineData("wb")]
    [InlineData("a")]
    [InlineData("ab+")]
    [InlineData("w+b")]
    [InlineData("a+")]
    public async Task A_creating_mode_makes_a_new_file_0666_whatever_the_umask(string mode)
    {
        var files = Files();
        var path = PathOf("new");
        await Ok(files, "guest-file-open", ("path", S(path)), ("mode", S(mode)));
        Assert.Equal((UnixFileMode)0x1B6, File.GetUnixFileMode(path));
    }

    [Fact]
    public async Task A_creating_mode_leaves_an_existing_files_permissions_alone_and_truncates_for_w()
    {
        var files = Files();
        var path = PathOf("kept");
        await File.WriteAllTextAsync(path, "old content");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);

        await Ok(files, "guest-file-open", ("path", S(path)), ("mode", S("w")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        Assert.Equal(0, new FileInfo(path).Length);
    }

    [Theory]
    [InlineData("rw")]
    [InlineData("br")]
    [InlineData("")]
    [InlineData("r ")]
    [InlineData("x")]
    [InlineData("rb+b")]
    public async Task An_unknown_mode_is_refused_with_qemus_text_and_uses_no_handle(string mode)
    {
        var files = Files();
        Assert.Equal($"invalid file open mode '{mode}'",
            await Fails(files, "guest-file-open", ("path", S(PathOf("foo"))), ("mode", S(mode))));
        Assert.False(File.Exists(PathOf("foo")));
        Assert.Equal(1000, ((JsonInt)await Ok(files, "guest-file-open", ("path", S(PathOf("foo"))), ("mode", S("w")))).Value);
    }

    [Fact]
    public async Task Open_failures_carry_path_mode_and_strerror()
    {
        var files = Files();
        Assert.Equal("failed to open file 'nope/x' (mode: 'r'): No such file or directory",
            await Fails(files, "guest-file-open", ("path", S("nope/x")), ("mode", S("r"))));
        Assert.Equal("failed to open file '' (mode: 'r'): No such file or directory",
            await Fails(files, "guest-file-open", ("path", S(""))));
        Assert.Equal($"failed to open file '{Dir}' (mode: 'w'): Is a directory",
            await Fails(files, "guest-file-open", ("path", S(Dir)), ("mode", S("w"))));
        Assert.Equal($"failed to open file '{PathOf("missing")}' (mode: 'r+'): No such file or directory",
            await Fails(files, "guest-file-open", ("path", S(PathOf("missing"))), ("mode", S("r+"))));
    }

    [Fact]
    public async Task A_directory_opens_but_reading_it_fails_with_is_a_directory()
    {
        var files = Files();
        var handle = await Ok(files, "guest-file-open", ("path", S(Dir)));
        Assert.Equal("failed to read file: Is a directory", await Fails(files, "guest-file-read", ("handle", handle)));
    }

    [Fact]
    public async Task Read_count_must_be_between_0_and_48_MiB()
    {
        var files = Files();
        await File.WriteAllBytesAsync(PathOf("f"), HelloWorld);
        var handle = await Ok(files, "guest-file-open", ("path", S(PathOf("f"))));

        Assert.Equal("value '-1' is invalid for argument count",
            await Fails(files, "guest-file-read", ("handle", handle), ("count", I(-1))));
        Assert.Equal("value '50331649' is invalid for argument count",
            await Fails(files, "guest-file-read", ("handle", handle), ("count", I(50331649))));
        Assert.Equal(JsonObject.Of(("count", I(0)), ("buf-b64", S("")), ("eof", JsonBool.False)),
            await Ok(files, "guest-file-read", ("handle", handle), ("count", I(0))));
        var all = await Ok(files, "guest-file-read", ("handle", handle), ("count", I(50331648)));
        Assert.Equal(14, Member(all, "count"));
        Assert.True(Flag(all, "eof"));
    }

    [Fact]
    public async Task Eof_is_set_only_when_a_read_hits_the_end_even_with_data()
    {
        var files = Files();
        await File.WriteAllBytesAsync(PathOf("f"), HelloWorld);
        var handle = await Ok(files, "guest-file-open", ("path", S(PathOf("f"))));

        var exact = await Ok(files, "guest-file-read", ("handle", handle), ("count", I(14)));
        Assert.Equal(14, Member(exact, "count"));
        Assert.False(Flag(exact, "eof")); // fread got all it asked for without meeting the end
        var after = await Ok(files, "guest-file-read", ("handle", handle), ("count", I(14)));
        Assert.Equal(JsonObject.Of(("count", I(0)), ("buf-b64", S("")), ("eof", JsonBool.True)), after);

        await Ok(files, "guest-file-seek", ("handle", handle), ("offset", I(0)), ("whence", S("set")));
        var first = await Ok(files, "guest-file-read", ("handle", handle), ("count", I(10)));
        Assert.False(Flag(first, "eof"));
        var shortRead = await Ok(files, "guest-file-read", ("handle", handle), ("count", I(10)));
        Assert.Equal(4, Member(shortRead, "count"));
        Assert.True(Flag(shortRead, "eof"));
    }

    [Fact]
    public async Task Seek_takes_names_and_integers_and_reports_bad_whence_and_negative_offsets()
    {
        var files = Files();
        await File.WriteAllBytesAsync(PathOf("f"), HelloWorld);
        var handle = await Ok(files, "guest-file-open", ("path", S(PathOf("f"))), ("mode", S("r+")));

        async Task<long> Seek(long offset, JsonValue whence) =>
            Member(await Ok(files, "guest-file-seek", ("handle", handle), ("offset", I(offset)), ("whence", whence)), "position");

        Assert.Equal(4, await Seek(4, S("set")));
        Assert.Equal(6, await Seek(2, S("cur")));
        Assert.Equal(12, await Seek(-2, S("end")));
        Assert.Equal(3, await Seek(3, I(0)));
        Assert.Equal(4, await Seek(1, I(1)));
        Assert.Equal(114, await Seek(100, I(2)));
        Assert.Equal("invalid whence code 3",
            await Fails(files, "guest-file-seek", ("handle", handle), ("offset", I(0)), ("whence", I(3))));
        Assert.Equal("invalid whence code -1",
            await Fails(files, "guest-file-seek", ("handle", handle), ("offset", I(0)), ("whence", I(-1))));
        Assert.Equal("failed to seek file: Invalid argument",
            await Fails(files, "guest-file-seek", ("handle", handle), ("offset", I(-1)), ("whence", S("set"))));
        Assert.Equal(114, await Seek(0, S("cur"))); // a failed seek leaves the position alone
    }

    [Fact]
    public async Task Write_count_defaults_to_the_data_and_must_not_exceed_it()
    {
        var files = Files();
        var path = PathOf("w");
        var handle = await Ok(files, "guest-file-open", ("path", S(path)), ("mode", S("w")));

        Assert.Equal("value '6' is invalid for argument count",
            await Fails(files, "guest-file-write", ("handle", handle), ("buf-b64", B64("hello")), ("count", I(6))));
        Assert.Equal("value '-1' is invalid for argument count",
            await Fails(files, "guest-file-write", ("handle", handle), ("buf-b64", B64("hello")), ("count", I(-1))));
        Assert.Equal(3, Member(await Ok(files, "guest-file-write", ("handle", handle), ("buf-b64", B64("hello")), ("count", I(3))), "count"));
        Assert.Equal(0, Member(await Ok(files, "guest-file-write", ("handle", handle), ("buf-b64", S("")), ("count", I(0))), "count"));
        Assert.Equal(5, Member(await Ok(files, "guest-file-write", ("handle", handle), ("buf-b64", B64("world"))), "count"));
        await Ok(files, "guest-file-close", ("handle", handle));
        Assert.Equal("helworld", await File.ReadAllTextAsync(path));
    }

    /// <summary>qemu-ga 7.2, live: "SGVsbG8" (no padding) writes 3 bytes, "AA\nAA" writes 3, '*' is refused.</summary>
    [Fact]
    public async Task Write_decodes_base64_leniently_as_qemu_does()
    {
        var files = Files();
        var path = PathOf("b64");
        var handle = await Ok(files, "guest-file-open", ("path", S(path)), ("mode", S("w")));

        Assert.Equal("Base64 data contains invalid characters",
            await Fails(files, "guest-file-write", ("handle", handle), ("buf-b64", S("SGV*sbG8"))));
        Assert.Equal(3, Member(await Ok(files, "guest-file-write", ("handle", handle), ("buf-b64", S("SGVsbG8"))), "count"));
        Assert.Equal(3, Member(await Ok(files, "guest-file-write", ("handle", handle), ("buf-b64", S("AA\nAA"))), "count"));
        await Ok(files, "guest-file-close", ("handle", handle));
        Assert.Equal("Hel\0\0\0"u8.ToArray(), await File.ReadAllBytesAsync(path));
    }

    [Fact]
    public async Task Every_command_names_an_unknown_handle()
    {
        var files = Files();
        Assert.Equal("handle '1000' has not been found", await Fails(files, "guest-file-close", ("handle", I(1000))));
        Assert.Equal("handle '7' has not been found", await Fails(files, "guest-file-read", ("handle", I(7)), ("count", I(-1))));
        Assert.Equal("handle '-3' has not been found", await Fails(files, "guest-file-write", ("handle", I(-3)), ("buf-b64", S("*"))));
        Assert.Equal("handle '1001' has not been found",
            await Fails(files, "guest-file-seek", ("handle", I(1001)), ("offset", I(0)), ("whence", I(9))));
        Assert.Equal("handle '1000' has not been found", await Fails(files, "guest-file-flush", ("handle", I(1000))));

        var handle = await Ok(files, "guest-file-open", ("path", S(PathOf("c"))), ("mode", S("w")));
        await Ok(files, "guest-file-close", ("handle", handle));
        Assert.Equal("handle '1000' has not been found", await Fails(files, "guest-file-close", ("handle", handle)));
    }

    [Fact]
    public async Task Append_modes_write_at_the_end_whatever_the_position()
    {
        var files = Files();
        var path = PathOf("log");
        await File.WriteAllTextAsync(path, "0123456789");
        var handle = await Ok(files, "guest-file-open", ("path", S(path)), ("mode", S("a+")));

        await ExpectRead(files, handle, 2, "01"); // a+ starts reading at the beginning (glibc)
        Assert.Equal(3, Member(await Ok(files, "guest-file-write", ("handle", handle), ("buf-b64", B64("xyz"))), "count"));
        await ExpectRead(files, handle, 2, ""); // after the implicit flush the position is the end
        Assert.Equal(1, Member(await Ok(files, "guest-file-seek", ("handle", handle), ("offset", I(1)), ("whence", I(0))), "position"));
        await Ok(files, "guest-file-write", ("handle", handle), ("buf-b64", B64("123")));
        Assert.Equal(16, Member(await Ok(files, "guest-file-seek", ("handle", handle), ("offset", I(0)), ("whence", S("cur"))), "position"));
        await Ok(files, "guest-file-close", ("handle", handle));
        Assert.Equal("0123456789xyz123", await File.ReadAllTextAsync(path));

        handle = await Ok(files, "guest-file-open", ("path", S(path)), ("mode", S("a")));
        Assert.Equal(0, Member(await Ok(files, "guest-file-seek", ("handle", handle), ("offset", I(0)), ("whence", I(1))), "position"));
        await Ok(files, "guest-file-write", ("handle", handle), ("buf-b64", B64("!")));
        Assert.Equal(17, Member(await Ok(files, "guest-file-seek", ("handle", handle), ("offset", I(0)), ("whence", I(1))), "position"));
    }

    [Fact]
    public async Task A_fifo_is_non_blocking_and_unseekable()
    {
        var files = Files();
        var fifo = PathOf("fifo");
        Assert.Equal(0, Mkfifo(fifo));
        var handle = await Ok(files, "guest-file-open", ("path", S(fifo)), ("mode", S("r+")));

        Assert.Equal("failed to read file: Resource temporarily unavailable",
            await Fails(files, "guest-file-read", ("handle", handle)));
        await Ok(files, "guest-file-write", ("handle", handle), ("buf-b64", B64("xyzxyz")));
        await ExpectRead(files, handle, 2, "xy");
        // after a read, qemu-ga's fseek(0, SEEK_CUR) before writing fails on a pipe and nothing is written
        Assert.Equal("failed to seek file: Illegal seek",
            await Fails(files, "guest-file-write", ("handle", handle), ("buf-b64", B64("!"))));
        Assert.Equal("failed to seek file: Illegal seek",
            await Fails(files, "guest-file-seek", ("handle", handle), ("offset", I(0)), ("whence", S("cur"))));
        // ESPIPE from an explicit seek resets the state, so writing works again
        Assert.Equal(1, Member(await Ok(files, "guest-file-write", ("handle", handle), ("buf-b64", B64("!"))), "count"));
        await ExpectRead(files, handle, 5, "zxyz!");
    }

    [Fact]
    public async Task The_counter_lives_in_qga_state_and_survives_a_restart()
    {
        var statePath = PathOf("qga.state");
        var first = Files();
        await Ok(first, "guest-file-open", ("path", S(PathOf("x"))), ("mode", S("w")));
        Assert.Equal("[global]\nfd_counter=1001\n", await File.ReadAllTextAsync(statePath));
        await Ok(first, "guest-file-open", ("path", S(PathOf("x"))));
        await Ok(first, "guest-file-open", ("path", S(PathOf("x"))));
        Assert.Equal("[global]\nfd_counter=1003\n", await File.ReadAllTextAsync(statePath));

        Watch(first);
        Sys.Stop(first);
        await ExpectTerminatedAsync(first, Patience);

        var second = Files();
        Assert.Equal(1003, ((JsonInt)await Ok(second, "guest-file-open", ("path", S(PathOf("x"))))).Value);
        Assert.Equal("[global]\nfd_counter=1004\n", await File.ReadAllTextAsync(statePath));
        // handles of the stopped actor are gone, never reused
        Assert.Equal("handle '1000' has not been found", await Fails(second, "guest-file-close", ("handle", I(1000))));
    }

    [Fact]
    public async Task The_state_file_is_created_at_start_and_an_existing_counter_is_honoured()
    {
        Files();
        await AwaitAssertAsync(() => Assert.Equal("[global]\nfd_counter=1000\n", File.ReadAllText(PathOf("qga.state"))), Patience);

        var other = Directory.CreateDirectory(PathOf("other")).FullName;
        await File.WriteAllTextAsync(Path.Combine(other, "qga.state"), "# written by qemu-ga\n[global]\nfd_counter=5000\n\n[extra]\nx=1\n");
        var files = Sys.ActorOf(FileHandlesActor.Props(other, DefaultSettings));
        Assert.Equal(5000, ((JsonInt)await Ok(files, "guest-file-open", ("path", S(PathOf("y"))), ("mode", S("w")))).Value);
        Assert.Equal("[global]\nfd_counter=5001\n", await File.ReadAllTextAsync(Path.Combine(other, "qga.state")));

        var noKey = Directory.CreateDirectory(PathOf("nokey")).FullName;
        await File.WriteAllTextAsync(Path.Combine(noKey, "qga.state"), "[global]\n");
        Assert.Equal(1000, ((JsonInt)await Ok(Sys.ActorOf(FileHandlesActor.Props(noKey, DefaultSettings)), "guest-file-open", ("path", S(PathOf("y"))))).Value);
    }

    [Fact]
    public async Task An_unreadable_state_file_refuses_opens_instead_of_risking_reused_handles()
    {
        await File.WriteAllTextAsync(PathOf("qga.state"), "[global]\nfd_counter=12ab\n");
        var files = Files();
        Assert.Equal("failed to load persistent state",
            await Fails(files, "guest-file-open", ("path", S(PathOf("y"))), ("mode", S("w"))));
        Assert.Equal("[global]\nfd_counter=12ab\n", await File.ReadAllTextAsync(PathOf("qga.state")));
    }

    [Fact]
    public async Task A_failed_commit_fails_the_open_closes_the_file_and_keeps_the_old_state()
    {
        var files = Files();
        await Ok(files, "guest-file-open", ("path", S(PathOf("a"))), ("mode", S("w")));
        // the temp file's name taken by a directory: the rewrite cannot even start
        Directory.CreateDirectory(PathOf("qga.state.tmp"));
        var before = OpenDescriptorsUnder(Dir);

        Assert.Equal("failed to commit persistent state to disk",
            await Fails(files, "guest-file-open", ("path", S(PathOf("b"))), ("mode", S("w"))));
        Assert.Equal("[global]\nfd_counter=1001\n", await File.ReadAllTextAsync(PathOf("qga.state")));
        Assert.Equal(before, OpenDescriptorsUnder(Dir));

        Directory.Delete(PathOf("qga.state.tmp"));
        // the number that failed to commit is skipped, never handed out twice
        Assert.Equal(1002, ((JsonInt)await Ok(files, "guest-file-open", ("path", S(PathOf("b"))))).Value);
        Assert.Equal("[global]\nfd_counter=1003\n", await File.ReadAllTextAsync(PathOf("qga.state")));
        Assert.False(File.Exists(PathOf("qga.state.tmp")));
    }

    [Fact]
    public async Task A_leftover_temp_file_from_a_crash_does_not_matter()
    {
        await File.WriteAllTextAsync(PathOf("qga.state"), "[global]\nfd_counter=1200\n");
        await File.WriteAllTextAsync(PathOf("qga.state.tmp"), "[glob"); // torn write of a killed agent
        var files = Files();
        Assert.Equal(1200, ((JsonInt)await Ok(files, "guest-file-open", ("path", S(PathOf("c"))), ("mode", S("w")))).Value);
        Assert.Equal("[global]\nfd_counter=1201\n", await File.ReadAllTextAsync(PathOf("qga.state")));
    }

    [Fact]
    public async Task Stopping_the_actor_closes_every_handle()
    {
        var files = Files();
        for (var i = 0; i < 5; i++)
            await Ok(files, "guest-file-open", ("path", S(PathOf($"h{i}"))), ("mode", S("w")));
        Assert.Equal(5, OpenDescriptorsUnder(Dir));
        Watch(files);
        Sys.Stop(files);
        await ExpectTerminatedAsync(files, Patience);
        Assert.Equal(0, OpenDescriptorsUnder(Dir));
    }

    [Fact]
    public async Task Sixty_four_MiB_written_in_48_KiB_chunks_reads_back_identical()
    {
        var files = Files();
        var data = new byte[64 * 1024 * 1024];
        new Random(5).NextBytes(data);
        const int chunk = 48 * 1024;
        var handle = await Ok(files, "guest-file-open", ("path", S(PathOf("big"))), ("mode", S("w+")));
        for (var offset = 0; offset < data.Length; offset += chunk)
        {
            var length = Math.Min(chunk, data.Length - offset);
            var write = await Ok(files, "guest-file-write", ("handle", handle), ("buf-b64", S(Convert.ToBase64String(data, offset, length))));
            Assert.Equal(length, Member(write, "count"));
        }
        await Ok(files, "guest-file-seek", ("handle", handle), ("offset", I(0)), ("whence", S("set")));

        var back = new MemoryStream(data.Length);
        while (true)
        {
            var read = await Ok(files, "guest-file-read", ("handle", handle), ("count", I(chunk)));
            back.Write(Convert.FromBase64String(Text(read, "buf-b64")));
            if (Flag(read, "eof")) break;
        }
        Assert.Equal(data.Length, back.Length);
        Assert.True(data.AsSpan().SequenceEqual(back.GetBuffer().AsSpan(0, (int)back.Length)));
    }

    private static int OpenDescriptorsUnder(string dir) =>
        Directory.EnumerateFileSystemEntries("/proc/self/fd")
            .Select(fd => { try { return new FileInfo(fd).LinkTarget; } catch (IOException) { return null; } })
            .Count(target => target is not null && target.StartsWith(dir + "/", StringComparison.Ordinal));

    [global::System.Runtime.InteropServices.DllImport("libc", EntryPoint = "mkfifo", SetLastError = true)]
    private static extern int Mkfifo(string path, uint mode = 0x180);

    /// <summary>Arguments as the channel's parser makes them: a long base64 payload stays bytes.</summary>
    private static JsonObject Parsed(string json)
    {
        var items = new List<Agent.Protocol.Json.StreamItem>();
        new JsonStreamer().Feed(global::System.Text.Encoding.UTF8.GetBytes(json), items);
        return (JsonObject)((StreamValue)Assert.Single(items)).Value;
    }

    private async Task<object> Send(IActorRef files, long seq, string command, JsonObject args)
    {
        files.Tell(new Agent.Actors.Commands.Execute(seq, command, args), TestActor);
        return await ExpectMsgAsync<object>(Patience);
    }

    [Fact]
    public async Task A_large_payload_from_the_wire_is_written_and_read_back_byte_for_byte()
    {
        var files = Files();
        var data = new byte[3 * 1024 * 1024 + 1];
        new Random(11).NextBytes(data);
        var handle = ((JsonInt)await Ok(files, "guest-file-open", ("path", S(PathOf("big"))), ("mode", S("w+")))).Value;
        var args = Parsed($"{{\"handle\": {handle}, \"buf-b64\": \"{Convert.ToBase64String(data)}\"}}");
        Assert.True(((JsonString)args["buf-b64"]!).TryGetAscii(out _));
        var write = Assert.IsType<Agent.Actors.Commands.CommandSucceeded>(await Send(files, 1, "guest-file-write", args));
        Assert.Equal("{\"count\": 3145729, \"eof\": false}", JsonWriter.ToJson(write.Value));
        Assert.Equal(data, await File.ReadAllBytesAsync(PathOf("big")));

        await Ok(files, "guest-file-seek", ("handle", I(handle)), ("offset", I(0)), ("whence", S("set")));
        var read = await Ok(files, "guest-file-read", ("handle", I(handle)), ("count", I(data.Length)));
        Assert.Equal($"{{\"count\": {data.Length}, \"buf-b64\": \"{Convert.ToBase64String(data)}\", \"eof\": false}}", JsonWriter.ToJson(read));
        await Ok(files, "guest-file-close", ("handle", I(handle)));
    }

    [Theory]
    [InlineData("", "")] // canonical
    [InlineData("ZA", "")] // an incomplete final group is dropped, as glib does
    [InlineData("YQ==YWJj", "aabc")] // '=' inside the data suppresses bytes of its group
    public async Task Lenient_base64_from_the_wire_writes_what_qemu_ga_writes(string tail, string tailBytes)
    {
        var files = Files();
        var body = string.Concat(Enumerable.Repeat("YWJj", 400)); // "abc" x 400: long enough to stay bytes
        var handle = ((JsonInt)await Ok(files, "guest-file-open", ("path", S(PathOf("lenient"))), ("mode", S("w")))).Value;
        var args = Parsed($"{{\"handle\": {handle}, \"buf-b64\": \"{body}{tail}\"}}");
        Assert.True(((JsonString)args["buf-b64"]!).TryGetAscii(out _));
        Assert.IsType<Agent.Actors.Commands.CommandSucceeded>(await Send(files, 1, "guest-file-write", args));
        await Ok(files, "guest-file-close", ("handle", I(handle)));
        Assert.Equal(string.Concat(Enumerable.Repeat("abc", 400)) + tailBytes, await File.ReadAllTextAsync(PathOf("lenient")));
    }

    [Fact]
    public async Task Invalid_base64_from_the_wire_fails_with_qemus_text()
    {
        var files = Files();
        var handle = ((JsonInt)await Ok(files, "guest-file-open", ("path", S(PathOf("bad"))), ("mode", S("w")))).Value;
        var args = Parsed($"{{\"handle\": {handle}, \"buf-b64\": \"{new string('A', 2000)}-_\"}}");
        var failed = Assert.IsType<Agent.Actors.Commands.CommandFailed>(await Send(files, 1, "guest-file-write", args));
        Assert.Equal("Base64 data contains invalid characters", failed.Error.Desc);
    }

    [Fact]
    public async Task Calls_sent_without_waiting_run_in_arrival_order_on_one_file()
    {
        var files = Files();
        var handle = ((JsonInt)await Ok(files, "guest-file-open", ("path", S(PathOf("order"))), ("mode", S("w+")))).Value;
        JsonObject Args(params (string, JsonValue?)[] members) => JsonObject.Of([("handle", I(handle)), .. members]);
        files.Tell(new Agent.Actors.Commands.Execute(1, "guest-file-write", Args(("buf-b64", B64("first ")))), TestActor);
        files.Tell(new Agent.Actors.Commands.Execute(2, "guest-file-write", Args(("buf-b64", B64("second")))), TestActor);
        files.Tell(new Agent.Actors.Commands.Execute(3, "guest-file-seek", Args(("offset", I(0)), ("whence", S("set")))), TestActor);
        files.Tell(new Agent.Actors.Commands.Execute(4, "guest-file-read", Args()), TestActor);
        files.Tell(new Agent.Actors.Commands.Execute(5, "guest-file-close", Args()), TestActor);
        files.Tell(new Agent.Actors.Commands.Execute(6, "guest-file-read", Args()), TestActor);
        var replies = new List<object>();
        for (int i = 0; i < 6; i++) replies.Add(await ExpectMsgAsync<object>(Patience));
        var bySeq = replies.ToDictionary(r => r switch
        {
            Agent.Actors.Commands.CommandSucceeded s => s.Seq,
            Agent.Actors.Commands.CommandFailed f => f.Seq,
            _ => -1,
        });
        Assert.Equal(0, ((JsonInt)((JsonObject)((Agent.Actors.Commands.CommandSucceeded)bySeq[3]).Value)["position"]!).Value);
        Assert.Equal("first second", global::System.Text.Encoding.ASCII.GetString(Convert.FromBase64String(
            Text(((Agent.Actors.Commands.CommandSucceeded)bySeq[4]).Value, "buf-b64"))));
        Assert.IsType<Agent.Actors.Commands.CommandSucceeded>(bySeq[5]);
        Assert.Equal($"handle '{handle}' has not been found", ((Agent.Actors.Commands.CommandFailed)bySeq[6]).Error.Desc);
    }
}
