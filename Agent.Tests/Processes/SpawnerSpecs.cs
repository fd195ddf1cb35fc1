using System.Text;
using Agent.Actors.Platform;
using Agent.Actors.Processes;
using Microsoft.Win32.SafeHandles;

namespace Agent.Tests.Processes;

/// <summary>posix_spawn as the spec asks, without actors: the test reads the pipes and reaps the child itself.</summary>
[Collection(ProcessAccountingCollection.Name)]
public sealed class SpawnerSpecs : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("actoragent-spawn-").FullName;

    private static Spawner.Spawned Spawn(SpawnSpec spec)
    {
        Assert.Equal(0, Spawner.TrySpawn(spec, out var spawned));
        return Assert.IsType<Spawner.Spawned>(spawned);
    }

    private static string ReadToEnd(int fd)
    {
        using var stream = new FileStream(new SafeFileHandle(fd, ownsHandle: true), FileAccess.Read, bufferSize: 0);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }

    private static int ExitCode(int pid)
    {
        Assert.Equal(pid, Native.WaitPid(pid, out var status, 0));
        Assert.Equal(0, status & 0x7F); // exited, not signalled
        return (status >> 8) & 0xFF;
    }

    [Fact]
    public void Stdin_stdout_and_stderr_are_separate_pipes_and_the_exit_code_comes_back()
    {
        var child = Spawn(new SpawnSpec("/bin/sh", ["-c", "read x; echo \"out:$x\"; echo err >&2; exit 3"],
            Input: [], Stdout: OutputMode.Capture, Stderr: OutputMode.Capture));
        using (var stdin = new FileStream(new SafeFileHandle(child.StdinFd, ownsHandle: true), FileAccess.Write, bufferSize: 0))
            stdin.Write("hello\n"u8);

        Assert.Equal("out:hello\n", ReadToEnd(child.StdoutFd));
        Assert.Equal("err\n", ReadToEnd(child.StderrFd));
        Assert.Equal(3, ExitCode(child.Pid));
    }

    [Fact]
    public void Uncaptured_streams_are_not_piped()
    {
        var child = Spawn(new SpawnSpec("/bin/sh", ["-c", "read x || exit 7"]));
        Assert.Equal((-1, -1, -1), (child.StdinFd, child.StdoutFd, child.StderrFd));
        Assert.Equal(7, ExitCode(child.Pid)); // stdin is /dev/null: read meets EOF
    }

    [Fact]
    public void Merged_stderr_interleaves_with_stdout_in_write_order()
    {
        var child = Spawn(new SpawnSpec("/bin/sh", ["-c", "echo one; echo two >&2; echo three"],
            Stdout: OutputMode.Capture, Stderr: OutputMode.MergeIntoStdout));
        Assert.Equal(-1, child.StderrFd);
        Assert.Equal("one\ntwo\nthree\n", ReadToEnd(child.StdoutFd));
        Assert.Equal(0, ExitCode(child.Pid));
    }

    [Fact]
    public void The_environment_replaces_the_agents_and_the_working_directory_is_set()
    {
        var child = Spawn(new SpawnSpec("/bin/sh", ["-c", "pwd; echo \"$GREETING\"; echo \"${HOME:-unset}\""],
            Environment: ["GREETING=hi", "PATH=/usr/bin:/bin"], WorkingDirectory: _dir, Stdout: OutputMode.Capture));
        Assert.Equal($"{_dir}\nhi\nunset\n", ReadToEnd(child.StdoutFd));
        Assert.Equal(0, ExitCode(child.Pid));
    }

    [Fact]
    public void A_new_session_makes_the_child_its_leader()
    {
        // /proc/self/stat's 6th field is the session id; exec keeps the spawned pid.
        var child = Spawn(new SpawnSpec("/bin/sh", ["-c", "exec cut -d' ' -f6 /proc/self/stat"], Stdout: OutputMode.Capture));
        Assert.Equal($"{child.Pid}\n", ReadToEnd(child.StdoutFd));
        Assert.Equal(0, ExitCode(child.Pid));
    }

    [Fact]
    public void A_missing_program_is_ENOENT_and_no_child()
    {
        Assert.Equal(2, Spawner.TrySpawn(new SpawnSpec(Path.Combine(_dir, "no-such-program"), []), out var spawned));
        Assert.Null(spawned);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
