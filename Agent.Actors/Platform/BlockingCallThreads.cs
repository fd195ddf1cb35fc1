using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace Agent.Actors.Platform;

/// <summary>
/// Dedicated threads for calls that may block forever, such as statvfs on a dead mount. A thread
/// that finished its call waits for the next one, so a call costs a hand-off rather than a thread
/// start; a thread stuck in a call is never handed another, so a hang costs that one thread and
/// never the ThreadPool.
/// </summary>
public sealed class BlockingCallThreads(string name, int maxIdle) : IDisposable
{
    private readonly ConcurrentBag<Worker> _idle = new();
    private volatile bool _disposed;

    /// <summary>
    /// Runs <paramref name="call"/> on an idle thread (or a new one). The task completes on that thread
    /// after it went back to the idle ones, and its continuations run there: a PipeTo then tells its
    /// actor straight from it, with no hop through the ThreadPool (one wake-up less per call on the one
    /// CPU an agent gets), and the actor's next call can take the same thread.
    /// </summary>
    public Task<T> Run<T>(Func<T> call)
    {
        var result = new TaskCompletionSource<T>();
        if (!_idle.TryTake(out var worker)) worker = new Worker(this, name);
        worker.Post(() =>
        {
            T value;
            try { value = call(); }
            catch (Exception ex) { return () => result.SetException(ex); }
            return () => result.SetResult(value);
        });
        return result.Task;
    }

    private void Finished(Worker worker)
    {
        if (_disposed || _idle.Count >= maxIdle)
        {
            worker.Stop();
            return;
        }
        _idle.Add(worker);
        // Dispose may have drained the idle ones between the check and the Add; each worker is taken
        // once, so draining again from here stops this one exactly once.
        if (_disposed) StopIdle();
    }

    public void Dispose()
    {
        _disposed = true;
        StopIdle();
    }

    private void StopIdle()
    {
        while (_idle.TryTake(out var worker)) worker.Stop();
    }

    /// <summary>
    /// A thread and its one pending call. It sleeps in read() on its own eventfd between calls and a
    /// call is handed over with one write(): Monitor.Wait and Pulse went through the runtime's wait
    /// subsystem, whose shared lock made the woken thread spin in sched_yield (bench/README.md).
    /// </summary>
    private sealed unsafe class Worker
    {
        private readonly int _wake = Native.EventFd(0, Native.EFD_CLOEXEC);
        private Func<Action>? _call;
        private volatile bool _stopped;
        // The thread and Stop each hold the descriptor; the last to let go closes it, so Stop's write
        // can never reach a closed (or reused) descriptor number.
        private int _holders = 2;

        /// <summary>Each call returns what completes its task, run once the thread is idle again.</summary>
        public Worker(BlockingCallThreads owner, string name)
        {
            if (_wake < 0) throw new PlatformException(Native.LastErrorText());
            new Thread(() =>
            {
                while (Next() is { } call)
                {
                    var complete = call();
                    owner.Finished(this);
                    complete();
                }
                Release();
            }) { IsBackground = true, Name = name }.Start();
        }

        private Func<Action>? Next()
        {
            while (true)
            {
                if (_stopped) return null;
                if (Interlocked.Exchange(ref _call, null) is { } call) return call;
                ulong count;
                if (Native.Read(_wake, (byte*)&count, 8) < 0 && Marshal.GetLastPInvokeError() != Native.EINTR) return null;
            }
        }

        /// <summary>Only for an idle worker (new, or taken from the idle ones).</summary>
        public void Post(Func<Action> call)
        {
            Volatile.Write(ref _call, call);
            Signal();
        }

        /// <summary>Only for an idle worker, once.</summary>
        public void Stop()
        {
            _stopped = true;
            Signal();
            Release();
        }

        private void Release()
        {
            if (Interlocked.Decrement(ref _holders) == 0) Native.Close(_wake);
        }

        private void Signal()
        {
            ulong one = 1;
            Native.Write(_wake, (byte*)&one, 8);
        }
    }
}
