using System.Runtime.InteropServices;

namespace Agent.Actors.Platform;

/// <summary>
/// libc calls for spawning and reaping children (glibc, Linux x86-64/arm64). The runtime's own
/// Process class is not used for helpers: it folds a killing signal into 128+n and may reap
/// children it does not own (docs/architecture.md, child processes). open/close/read/write/poll and the shared
/// errno/poll constants live in Native.Channel.cs.
/// </summary>
internal static partial class Native
{
    public const int ENOENT = 2;
    public const int ECHILD = 10;

    public const int SIGKILL = 9;
    public const int SIGTERM = 15;
    public const int SIGCHLD = 17;

    public const int WNOHANG = 1;

    public const int O_RDONLY = 0;
    public const int O_WRONLY = 1;
    public const int O_TRUNC = 0x200;

    // glibc posix_spawn flags (spawn.h).
    public const short POSIX_SPAWN_SETPGROUP = 0x02;
    public const short POSIX_SPAWN_SETSIGDEF = 0x04;
    public const short POSIX_SPAWN_SETSIGMASK = 0x08;
    public const short POSIX_SPAWN_SETSID = 0x80;

    /// <summary>Opaque glibc objects, over-allocated: posix_spawnattr_t is 336 bytes, file actions 80, sigset_t 128.</summary>
    public const int SpawnAttrSize = 512;
    public const int FileActionsSize = 128;
    public const int SigSetSize = 128;

    public const nint SIG_DFL = 0;

    [LibraryImport("libc", EntryPoint = "posix_spawn", SetLastError = true, StringMarshalling = StringMarshalling.Custom, StringMarshallingCustomType = typeof(OsStringMarshaller))]
    public static unsafe partial int PosixSpawn(out int pid, string path, void* fileActions, void* attr, IntPtr* argv, IntPtr* envp);

    /// <summary>posix_spawn with a PATH search for a bare program name.</summary>
    [LibraryImport("libc", EntryPoint = "posix_spawnp", SetLastError = true, StringMarshalling = StringMarshalling.Custom, StringMarshallingCustomType = typeof(OsStringMarshaller))]
    public static unsafe partial int PosixSpawnP(out int pid, string file, void* fileActions, void* attr, IntPtr* argv, IntPtr* envp);

    [LibraryImport("libc", EntryPoint = "posix_spawn_file_actions_init")]
    public static unsafe partial int SpawnFileActionsInit(void* actions);

    [LibraryImport("libc", EntryPoint = "posix_spawn_file_actions_destroy")]
    public static unsafe partial int SpawnFileActionsDestroy(void* actions);

    [LibraryImport("libc", EntryPoint = "posix_spawn_file_actions_adddup2")]
    public static unsafe partial int SpawnFileActionsAddDup2(void* actions, int fd, int newFd);

    [LibraryImport("libc", EntryPoint = "posix_spawn_file_actions_addopen", StringMarshalling = StringMarshalling.Custom, StringMarshallingCustomType = typeof(OsStringMarshaller))]
    public static unsafe partial int SpawnFileActionsAddOpen(void* actions, int fd, string path, int flags, int mode);

    /// <summary>glibc ≥ 2.29.</summary>
    [LibraryImport("libc", EntryPoint = "posix_spawn_file_actions_addchdir_np", StringMarshalling = StringMarshalling.Custom, StringMarshallingCustomType = typeof(OsStringMarshaller))]
    public static unsafe partial int SpawnFileActionsAddChdir(void* actions, string path);

    [LibraryImport("libc", EntryPoint = "posix_spawnattr_init")]
    public static unsafe partial int SpawnAttrInit(void* attr);

    [LibraryImport("libc", EntryPoint = "posix_spawnattr_destroy")]
    public static unsafe partial int SpawnAttrDestroy(void* attr);

    [LibraryImport("libc", EntryPoint = "posix_spawnattr_setflags")]
    public static unsafe partial int SpawnAttrSetFlags(void* attr, short flags);

    [LibraryImport("libc", EntryPoint = "posix_spawnattr_setpgroup")]
    public static unsafe partial int SpawnAttrSetPGroup(void* attr, int pgroup);

    [LibraryImport("libc", EntryPoint = "posix_spawnattr_setsigdefault")]
    public static unsafe partial int SpawnAttrSetSigDefault(void* attr, void* sigset);

    [LibraryImport("libc", EntryPoint = "posix_spawnattr_setsigmask")]
    public static unsafe partial int SpawnAttrSetSigMask(void* attr, void* sigset);

    [LibraryImport("libc", EntryPoint = "sigemptyset")]
    public static unsafe partial int SigEmptySet(void* set);

    [LibraryImport("libc", EntryPoint = "sigfillset")]
    public static unsafe partial int SigFillSet(void* set);

    [LibraryImport("libc", EntryPoint = "waitpid", SetLastError = true)]
    public static partial int WaitPid(int pid, out int status, int options);

    public const int ESRCH = 3;

    /// <summary>The part of siginfo_t waitid fills for a child (LP64 layout).</summary>
    public readonly record struct ChildState(int Pid, bool Killed, bool CoreDumped, int Status);

    /// <summary>
    /// waitid(P_PID, pid, WEXITED | WNOHANG | WNOWAIT): whether the child has exited, leaving it a
    /// zombie (its pid stays taken). Pid is 0 while it runs.
    /// </summary>
    public static unsafe int PeekChild(int pid, out ChildState state)
    {
        const int P_PID = 1, WEXITED = 4, WNOWAIT = 0x01000000, CLD_KILLED = 2, CLD_DUMPED = 3;
        var info = stackalloc byte[128];
        new Span<byte>(info, 128).Clear();
        var rc = WaitId(P_PID, pid, info, WEXITED | WNOHANG | WNOWAIT);
        // si_code at 8; the union starts at 16: si_pid, si_uid, si_status.
        var code = *(int*)(info + 8);
        state = new ChildState(*(int*)(info + 16), code is CLD_KILLED or CLD_DUMPED, code == CLD_DUMPED, *(int*)(info + 24));
        return rc;
    }

    [LibraryImport("libc", EntryPoint = "waitid", SetLastError = true)]
    private static unsafe partial int WaitId(int idType, int id, byte* info, int options);

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    public static partial int Kill(int pid, int sig);

    [LibraryImport("libc", EntryPoint = "pipe2", SetLastError = true)]
    public static unsafe partial int Pipe2(int* fds, int flags);

    /// <summary>sighandler_t signal(int, sighandler_t).</summary>
    [LibraryImport("libc", EntryPoint = "signal", SetLastError = true)]
    public static partial nint Signal(int signum, nint handler);

    /// <summary>fcntl(2) command that sets a pipe's capacity (linux/fcntl.h); capped by /proc/sys/fs/pipe-max-size.</summary>
    public const int F_SETPIPE_SZ = 1031;

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    public static partial int FcntlInt(int fd, int command, int argument);

    /// <summary>sched.h: a CPU-bound thread that never preempts another on wake-up.</summary>
    public const int SCHED_BATCH = 3;

    public struct SchedParam
    {
        public int Priority;
    }

    /// <summary>sched_setscheduler(2); pid 0 is the calling thread.</summary>
    [LibraryImport("libc", EntryPoint = "sched_setscheduler", SetLastError = true)]
    public static partial int SchedSetScheduler(int pid, int policy, ref SchedParam param);

    public const int MADV_HUGEPAGE = 14;

    [LibraryImport("libc", EntryPoint = "madvise", SetLastError = true)]
    public static partial int Madvise(nint address, nuint length, int advice);
}
