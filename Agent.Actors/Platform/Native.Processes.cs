using System.Runtime.InteropServices;

namespace Agent.Actors.Platform;

/// <summary>
/// libc calls for spawning and reaping children (glibc, Linux x86-64/arm64). The runtime's own
/// Process class is not used for helpers: it folds a killing signal into 128+n and may reap
/// children it does not own (dotnet-akka-notes §2).
/// </summary>
internal static partial class Native
{
    // EINTR, EAGAIN, O_CLOEXEC, the POLL* bits, PollFd and StrError are shared with Native.Channel.cs.
    public const int ECHILD = 10;
    public const int ENOENT = 2;

    public const int SIGKILL = 9;
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

    [LibraryImport("libc", SetLastError = true)]
    public static unsafe partial int posix_spawn(out int pid, [MarshalAs(UnmanagedType.LPUTF8Str)] string path,
        void* fileActions, void* attr, IntPtr* argv, IntPtr* envp);

    [LibraryImport("libc", SetLastError = true)]
    public static unsafe partial int posix_spawnp(out int pid, [MarshalAs(UnmanagedType.LPUTF8Str)] string file,
        void* fileActions, void* attr, IntPtr* argv, IntPtr* envp);

    [LibraryImport("libc")]
    public static unsafe partial int posix_spawn_file_actions_init(void* actions);

    [LibraryImport("libc")]
    public static unsafe partial int posix_spawn_file_actions_destroy(void* actions);

    [LibraryImport("libc")]
    public static unsafe partial int posix_spawn_file_actions_adddup2(void* actions, int fd, int newFd);

    [LibraryImport("libc")]
    public static unsafe partial int posix_spawn_file_actions_addopen(void* actions, int fd,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, int mode);

    [LibraryImport("libc")]
    public static unsafe partial int posix_spawn_file_actions_addclose(void* actions, int fd);

    /// <summary>glibc ≥ 2.29.</summary>
    [LibraryImport("libc")]
    public static unsafe partial int posix_spawn_file_actions_addchdir_np(void* actions,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string path);

    [LibraryImport("libc")]
    public static unsafe partial int posix_spawnattr_init(void* attr);

    [LibraryImport("libc")]
    public static unsafe partial int posix_spawnattr_destroy(void* attr);

    [LibraryImport("libc")]
    public static unsafe partial int posix_spawnattr_setflags(void* attr, short flags);

    [LibraryImport("libc")]
    public static unsafe partial int posix_spawnattr_setpgroup(void* attr, int pgroup);

    [LibraryImport("libc")]
    public static unsafe partial int posix_spawnattr_setsigdefault(void* attr, void* sigset);

    [LibraryImport("libc")]
    public static unsafe partial int posix_spawnattr_setsigmask(void* attr, void* sigset);

    [LibraryImport("libc")]
    public static unsafe partial int sigemptyset(void* set);

    [LibraryImport("libc")]
    public static unsafe partial int sigfillset(void* set);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int waitpid(int pid, out int status, int options);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int kill(int pid, int sig);

    [LibraryImport("libc", SetLastError = true)]
    public static unsafe partial int pipe2(int* fds, int flags);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, int mode);

    [LibraryImport("libc", SetLastError = true)]
    public static unsafe partial nint read(int fd, byte* buffer, nint count);

    [LibraryImport("libc", SetLastError = true)]
    public static unsafe partial nint write(int fd, byte* buffer, nint count);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int close(int fd);

    [LibraryImport("libc", SetLastError = true)]
    public static unsafe partial int poll(PollFd* fds, nuint count, int timeoutMs);

    /// <summary>sighandler_t signal(int, sighandler_t); 0 is SIG_DFL.</summary>
    [LibraryImport("libc", SetLastError = true)]
    public static partial nint signal(int signum, nint handler);

    public const nint SIG_DFL = 0;
}
