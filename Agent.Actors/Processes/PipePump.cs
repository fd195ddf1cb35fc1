using System.Buffers;
using System.Runtime.InteropServices;
using Agent.Actors.Platform;
using Agent.Protocol.Json;

namespace Agent.Actors.Processes;

/// <summary>
/// Feeds a child's stdin and drains its captured stdout/stderr on one dedicated thread with poll(),
/// so no blocking pipe read is ever parked on the ThreadPool that Akka's dispatcher shares.
/// The thread owns the pipe fds and closes them; <see cref="Cancel"/> wakes it through a self-pipe.
/// </summary>
internal sealed class PipePump
{
    /// <summary>Everything the child wrote, up to the limit per stream.</summary>
    public sealed record Drained(ReadOnlySequence<byte> Stdout, bool StdoutTruncated, ReadOnlySequence<byte> Stderr, bool StderrTruncated);

    /// <summary>What is read once a stream's capture is full (and dropped).</summary>
    private const int ChunkSize = 64 * 1024;
    private const int PipeBuf = 4096;

    private readonly int _wakeRead;
    private int _wakeWrite;
    private int _stdin;
    private readonly byte[]? _input;
    private int _inputOffset;
    private readonly Capture? _stdout;
    private readonly Capture? _stderr;
    private readonly Action<Drained> _onDrained;

    private PipePump(int wakeRead, int wakeWrite, Spawner.Spawned child, byte[]? input, int limit, Action<Drained> onDrained)
    {
        _wakeRead = wakeRead;
        _wakeWrite = wakeWrite;
        _stdin = child.StdinFd;
        _input = input;
        _stdout = child.StdoutFd >= 0 ? new Capture(child.StdoutFd, limit) : null;
        _stderr = child.StderrFd >= 0 ? new Capture(child.StderrFd, limit) : null;
        _onDrained = onDrained;
    }

    /// <summary>Starts pumping, or returns null when the child has no pipes (nothing to wait for).</summary>
    public static unsafe PipePump? Start(Spawner.Spawned child, byte[]? input, int limit, Action<Drained> onDrained)
    {
        if (child.StdinFd < 0 && child.StdoutFd < 0 && child.StderrFd < 0) return null;
        var wake = stackalloc int[2];
        if (Native.Pipe2(wake, Native.O_CLOEXEC) != 0)
            throw new IOException($"cannot create pipe FDs: {Native.StrError(Marshal.GetLastPInvokeError())}");
        var pump = new PipePump(wake[0], wake[1], child, input, limit, onDrained);
        new Thread(pump.Run, 256 * 1024) { IsBackground = true, Name = $"child-io-{child.Pid}" }.Start();
        return pump;
    }

    /// <summary>Stops the thread without a report; it closes the pipes. Call once, from the owner.</summary>
    public void Cancel()
    {
        var fd = Interlocked.Exchange(ref _wakeWrite, -1);
        if (fd >= 0) Native.Close(fd);
    }

    /// <summary>The capacity asked for the capture pipes: one read then takes up to this much.</summary>
    private const int CapturePipeSize = 1024 * 1024;

    private unsafe void Run()
    {
        var cancelled = false;
        try
        {
            // The child writes its output in small pieces (8 KiB for most of coreutils). As an ordinary
            // thread, this one woke and preempted it after each (on one CPU, a context switch and a read
            // per 8 KiB); as a batch thread it reads when the child blocks on a full pipe or its time
            // slice ends, in large reads from a large pipe. Both are hints: failures change nothing else.
            var batch = new Native.SchedParam();
            Native.SchedSetScheduler(0, Native.SCHED_BATCH, ref batch);
            if (_stdout is not null) Native.FcntlInt(_stdout.Fd, Native.F_SETPIPE_SZ, CapturePipeSize);
            if (_stderr is not null) Native.FcntlInt(_stderr.Fd, Native.F_SETPIPE_SZ, CapturePipeSize);
            if (_stdin >= 0 && (_input is null || _input.Length == 0)) CloseStdin();
            var fds = stackalloc Native.PollFd[4];
            var buffer = new byte[ChunkSize];
            while (_stdin >= 0 || _stdout is { Open: true } || _stderr is { Open: true })
            {
                var n = 0;
                fds[n++] = new Native.PollFd { Fd = _wakeRead, Events = Native.POLLIN };
                int stdinAt = -1, stdoutAt = -1, stderrAt = -1;
                if (_stdin >= 0) { stdinAt = n; fds[n++] = new Native.PollFd { Fd = _stdin, Events = Native.POLLOUT }; }
                if (_stdout is { Open: true }) { stdoutAt = n; fds[n++] = new Native.PollFd { Fd = _stdout.Fd, Events = Native.POLLIN }; }
                if (_stderr is { Open: true }) { stderrAt = n; fds[n++] = new Native.PollFd { Fd = _stderr.Fd, Events = Native.POLLIN }; }

                if (Native.Poll(fds, (nuint)n, -1) < 0)
                {
                    if (Marshal.GetLastPInvokeError() == Native.EINTR) continue;
                    break;
                }
                if (fds[0].Revents != 0) { cancelled = true; return; }
                if (stdinAt >= 0 && fds[stdinAt].Revents != 0) FeedStdin();
                if (stdoutAt >= 0 && fds[stdoutAt].Revents != 0) _stdout!.ReadOnce(buffer);
                if (stderrAt >= 0 && fds[stderrAt].Revents != 0) _stderr!.ReadOnce(buffer);
            }
        }
        finally
        {
            CloseStdin();
            _stdout?.Close();
            _stderr?.Close();
            Native.Close(_wakeRead);
            if (!cancelled)
                _onDrained(new Drained(
                    _stdout?.Bytes ?? ReadOnlySequence<byte>.Empty, _stdout?.Truncated ?? false,
                    _stderr?.Bytes ?? ReadOnlySequence<byte>.Empty, _stderr?.Truncated ?? false));
        }
    }

    /// <summary>After POLLOUT a write of at most PIPE_BUF bytes cannot block.</summary>
    private unsafe void FeedStdin()
    {
        var count = Math.Min(PipeBuf, _input!.Length - _inputOffset);
        nint written;
        fixed (byte* p = &_input[_inputOffset]) written = Native.Write(_stdin, p, count);
        if (written < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            if (errno is Native.EINTR or Native.EAGAIN) return;
            CloseStdin(); // EPIPE: the child stopped reading; the rest of the input is dropped
            return;
        }
        _inputOffset += (int)written;
        if (_inputOffset >= _input.Length) CloseStdin();
    }

    private void CloseStdin()
    {
        if (_stdin < 0) return;
        Native.Close(_stdin);
        _stdin = -1;
    }

    /// <summary>
    /// What one stream kept: read straight into chunks that grow to 1 MiB and handed on as they are,
    /// one sequence whose base64 the reply writer encodes piece by piece (joining them into one array
    /// cost a copy of the whole capture and held it twice at the peak; bench/README.md).
    /// </summary>
    private sealed class Capture(int fd, int limit)
    {
        private const int FirstChunk = 16 * 1024;
        private const int LargestChunk = 1024 * 1024;
        /// <summary>A transparent huge page, and the size of the chunks that follow the first 1 MiB.</summary>
        private const int HugeChunk = 2 * 1024 * 1024;

        private readonly List<ReadOnlyMemory<byte>> _full = [];
        private Memory<byte> _chunk = Memory<byte>.Empty;
        private int _used;
        private long _kept;
        public int Fd { get; private set; } = fd;
        public bool Open => Fd >= 0;
        public bool Truncated { get; private set; }

        public ReadOnlySequence<byte> Bytes => ByteSequence.Of(_full.Append((ReadOnlyMemory<byte>)_chunk[.._used]));

        /// <summary>Reads once into the capture (or into <paramref name="discard"/> once the limit is reached).</summary>
        public unsafe void ReadOnce(byte[] discard)
        {
            var room = (int)Math.Min(limit - _kept, LargestChunk);
            if (room > 0 && _used == _chunk.Length)
            {
                if (_chunk.Length > 0) _full.Add(_chunk);
                if (_chunk.Length * 2 == LargestChunk) CollectEarlierCaptures();
                _chunk = _chunk.Length >= LargestChunk / 2 && limit - _kept >= HugeChunk
                    ? HugePageChunk()
                    : new byte[Math.Min(room, Math.Clamp(_chunk.Length * 2, FirstChunk, LargestChunk))];
                _used = 0;
            }
            var target = room > 0 ? _chunk.Span[_used..] : discard;
            nint n;
            fixed (byte* p = target) n = Native.Read(Fd, p, target.Length);
            if (n < 0)
            {
                if (Marshal.GetLastPInvokeError() is Native.EINTR or Native.EAGAIN) return;
                Close();
                return;
            }
            if (n == 0) { Close(); return; }
            if (room > 0)
            {
                _used += (int)n;
                _kept += n;
            }
            else
            {
                Truncated = true;
            }
        }

        /// <summary>
        /// 2 MiB of a large array, aligned to a huge page and advised as one (MADV_HUGEPAGE): the capture
        /// written into it then costs one page fault per 2 MiB instead of 512, each ~20 µs on a VM with
        /// shadow paging (bench/README.md, "Exec 8 MB, round 3"). The array is allocated uninitialized and pinned, so
        /// the pages around the window are never touched and cost no memory. The advice is a hint: where
        /// it fails or huge pages are off, the window is ordinary memory.
        /// </summary>
        private static unsafe Memory<byte> HugePageChunk()
        {
            var array = GC.AllocateUninitializedArray<byte>(2 * HugeChunk, pinned: true);
            fixed (byte* p = array)
            {
                var offset = (int)(-(nint)p & (HugeChunk - 1));
                Native.Madvise((nint)(p + offset), HugeChunk, Native.MADV_HUGEPAGE);
                return array.AsMemory(offset, HugeChunk);
            }
        }

        /// <summary>
        /// The pieces of a capture live on the large object heap, which only a full collection frees, and
        /// the GC's budget for it grows with what survived the last one (a capture being read), so the
        /// captures of back-to-back large execs stacked up: four 8 MiB execs raised VmHWM by 41 MB
        /// (bench/README.md, "Peak RSS per workload"). When a capture reaches 1 MiB pieces and at least
        /// that much was captured by children that have finished since the last such collection, a full
        /// collection frees those already answered, whose space this capture then reuses. Not for the
        /// first large capture (one collection with nothing to free cost 1-2 MB of VmHWM); blocking
        /// and without compaction: a background one ran beside the pump on the agent's CPU while the
        /// capture went on growing into new space.
        /// </summary>
        private static void CollectEarlierCaptures()
        {
            if (Interlocked.Read(ref s_finishedCaptureBytes) < LargestChunk) return;
            Interlocked.Exchange(ref s_finishedCaptureBytes, 0);
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: false);
        }

        /// <summary>Bytes kept by captures that ended since the last <see cref="CollectEarlierCaptures"/>.</summary>
        private static long s_finishedCaptureBytes;

        public void Close()
        {
            if (Fd < 0) return;
            Native.Close(Fd);
            Fd = -1;
            Interlocked.Add(ref s_finishedCaptureBytes, _kept);
        }
    }
}
