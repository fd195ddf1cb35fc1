using System.Collections;
using System.Runtime.InteropServices;
using Agent.Actors.Platform;

namespace Agent.Actors.Processes;

/// <summary>
/// posix_spawn with the spec's stdio, signal state and session. Parent ends of pipes are
/// returned open; every fd is created O_CLOEXEC, so concurrent spawns never inherit each other's pipes.
/// </summary>
internal static class Spawner
{
    /// <summary>A started child and the parent's pipe ends (-1 where the stream is not piped).</summary>
    public sealed record Spawned(int Pid, int StdinFd, int StdoutFd, int StderrFd)
    {
        /// <summary>For when nobody will pump the pipes after all.</summary>
        public void CloseParentEnds()
        {
            foreach (var fd in new[] { StdinFd, StdoutFd, StderrFd })
                if (fd >= 0) Native.Close(fd);
        }
    }

    private const string DevNull = "/dev/null";

    /// <summary>Returns 0 and the child, or an errno (ENOENT for a missing program: glibc reports exec failures).</summary>
    public static unsafe int TrySpawn(SpawnSpec spec, out Spawned? spawned)
    {
        spawned = null;
        var stdin = spec.Input is null ? null : new int[2];
        var stdout = spec.Stdout == OutputMode.Capture ? new int[2] : null;
        var stderr = spec.Stderr == OutputMode.Capture ? new int[2] : null;
        var pipes = new[] { stdin, stdout, stderr }.Where(p => p is not null).Cast<int[]>().ToArray();
        foreach (var p in pipes) { p[0] = -1; p[1] = -1; }

        foreach (var p in pipes)
        {
            fixed (int* fds = p)
            {
                if (Native.Pipe2(fds, Native.O_CLOEXEC) != 0)
                {
                    var errno = Marshal.GetLastPInvokeError();
                    CloseAll(pipes);
                    return errno;
                }
            }
        }

        var actions = stackalloc byte[Native.FileActionsSize];
        var attr = stackalloc byte[Native.SpawnAttrSize];
        var allSignals = stackalloc byte[Native.SigSetSize];
        var noSignals = stackalloc byte[Native.SigSetSize];
        Native.SpawnFileActionsInit(actions);
        Native.SpawnAttrInit(attr);
        var strings = new List<IntPtr>();
        try
        {
            if (stdin is null) Native.SpawnFileActionsAddOpen(actions, 0, DevNull, Native.O_RDONLY, 0);
            else Native.SpawnFileActionsAddDup2(actions, stdin[0], 0);

            if (stdout is null) Native.SpawnFileActionsAddOpen(actions, 1, DevNull, Native.O_WRONLY, 0);
            else Native.SpawnFileActionsAddDup2(actions, stdout[1], 1);

            switch (spec.Stderr)
            {
                case OutputMode.Capture: Native.SpawnFileActionsAddDup2(actions, stderr![1], 2); break;
                case OutputMode.MergeIntoStdout: Native.SpawnFileActionsAddDup2(actions, 1, 2); break;
                default: Native.SpawnFileActionsAddOpen(actions, 2, DevNull, Native.O_WRONLY, 0); break;
            }

            if (spec.WorkingDirectory is { } dir) Native.SpawnFileActionsAddChdir(actions, dir);

            // The runtime ignores SIGPIPE and may block signals on its threads; children start clean.
            Native.SigFillSet(allSignals);
            Native.SigEmptySet(noSignals);
            Native.SpawnAttrSetSigDefault(attr, allSignals);
            Native.SpawnAttrSetSigMask(attr, noSignals);
            var flags = (short)(Native.POSIX_SPAWN_SETSIGDEF | Native.POSIX_SPAWN_SETSIGMASK);
            if (spec.NewSession) flags |= Native.POSIX_SPAWN_SETSID;
            else
            {
                flags |= Native.POSIX_SPAWN_SETPGROUP;
                Native.SpawnAttrSetPGroup(attr, 0);
            }
            Native.SpawnAttrSetFlags(attr, flags);

            var argv = ToNative([spec.Program, .. spec.Arguments], strings);
            var envp = ToNative(spec.Environment ?? InheritedEnvironment(), strings);
            int rc, pid;
            fixed (IntPtr* pArgv = argv)
            fixed (IntPtr* pEnvp = envp)
            {
                rc = spec.Program.Contains('/')
                    ? Native.PosixSpawn(out pid, spec.Program, actions, attr, pArgv, pEnvp)
                    : Native.PosixSpawnP(out pid, spec.Program, actions, attr, pArgv, pEnvp);
            }

            // The child's ends now live in the child (or nowhere, on failure).
            if (stdin is not null) { Native.Close(stdin[0]); stdin[0] = -1; }
            if (stdout is not null) { Native.Close(stdout[1]); stdout[1] = -1; }
            if (stderr is not null) { Native.Close(stderr[1]); stderr[1] = -1; }
            if (rc != 0)
            {
                CloseAll(pipes);
                return rc;
            }
            spawned = new Spawned(pid, stdin?[1] ?? -1, stdout?[0] ?? -1, stderr?[0] ?? -1);
            return 0;
        }
        finally
        {
            foreach (var s in strings) OsString.Free((byte*)s);
            Native.SpawnFileActionsDestroy(actions);
            Native.SpawnAttrDestroy(attr);
        }
    }

    private static unsafe IntPtr[] ToNative(IReadOnlyList<string> values, List<IntPtr> owned)
    {
        var result = new IntPtr[values.Count + 1];
        for (var i = 0; i < values.Count; i++)
        {
            // Modified UTF-8 (see OsString): an argument or variable holding U+0000 is never cut short.
            result[i] = (IntPtr)OsString.Allocate(values[i]);
            owned.Add(result[i]);
        }
        return result;
    }

    private static string[] InheritedEnvironment() =>
        System.Environment.GetEnvironmentVariables().Cast<DictionaryEntry>()
            .Select(e => $"{e.Key}={e.Value}").ToArray();

    private static void CloseAll(IEnumerable<int[]> pipes)
    {
        foreach (var p in pipes)
            foreach (var fd in p)
                if (fd >= 0) Native.Close(fd);
    }
}
