using Agent.Actors.State;

namespace Agent.Tests.State;

public sealed class PersistentStateSpecs : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("actoragent-state-").FullName;

    [Fact]
    public void A_missing_file_is_created_with_qemu_gas_first_handle()
    {
        var state = PersistentState.LoadOrCreate(_dir);
        Assert.Equal(1000, state.FdCounter);
        Assert.Equal("[global]\nfd_counter=1000\n", File.ReadAllText(Path.Combine(_dir, "qga.state")));
    }

    [Fact]
    public void Save_then_load_keeps_the_counter_and_leaves_no_temp_file()
    {
        new PersistentState(123456789012).Save(_dir);
        Assert.Equal(123456789012, PersistentState.LoadOrCreate(_dir).FdCounter);
        Assert.Equal(["qga.state"], Directory.GetFiles(_dir).Select(Path.GetFileName));
    }

    [Theory]
    [InlineData("[global]\nfd_counter=1042\n", 1042)]
    [InlineData("# comment\n\n[other]\nfd_counter=5\n[global]\n fd_counter = -7 \n", -7)]
    [InlineData("[global]\n", 1000)]
    public void Parse_reads_the_global_fd_counter(string text, long expected) =>
        Assert.Equal(expected, PersistentState.Parse(text)!.FdCounter);

    [Theory]
    [InlineData("fd_counter=5\n")]
    [InlineData("[global\nfd_counter=5\n")]
    [InlineData("[global]\nfd_counter=five\n")]
    [InlineData("[global]\nno equals sign\n")]
    public void Parse_refuses_what_is_not_a_keyfile_with_an_integer(string text) =>
        Assert.Null(PersistentState.Parse(text));

    [Fact]
    public void A_corrupt_file_stops_the_load_with_qemu_gas_text()
    {
        File.WriteAllText(Path.Combine(_dir, "qga.state"), "[global]\nfd_counter=x\n");
        var ex = Assert.Throws<PersistentStateException>(() => PersistentState.LoadOrCreate(_dir));
        Assert.Equal("failed to load persistent state", ex.Message);
    }

    [Fact]
    public void A_state_dir_that_does_not_exist_is_a_load_failure()
    {
        var ex = Assert.Throws<PersistentStateException>(() => PersistentState.LoadOrCreate(Path.Combine(_dir, "absent")));
        Assert.Equal("failed to load persistent state", ex.Message);
        Assert.IsAssignableFrom<IOException>(ex.InnerException);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
