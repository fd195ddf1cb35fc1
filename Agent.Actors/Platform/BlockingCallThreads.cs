using System.Collections.Concurrent;

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
        if (!_disposed && _idle.Count < maxIdle) _idle.Add(worker);
        else worker.Stop();
    }

    public void Dispose()
    {
        _disposed = true;
        while (_idle.TryTake(out var worker)) worker.Stop();
    }

    /// <summary>
    /// A thread and its one pending call. It sleeps in Monitor.Wait between calls: a BlockingCollection
    /// spun (sched_yield) before sleeping, several context switches per call on an agent's one CPU.
    /// </summary>
    private sealed class Worker
    {
        private readonly object _gate = new();
        private Func<Action>? _call;
        private bool _stopped;

        /// <summary>Each call returns what completes its task, run once the thread is idle again.</summary>
        public Worker(BlockingCallThreads owner, string name)
        {
            new Thread(() =>
            {
                while (Next() is { } call)
                {
                    var complete = call();
                    owner.Finished(this);
                    complete();
                }
            }) { IsBackground = true, Name = name }.Start();
        }

        private Func<Action>? Next()
        {
            lock (_gate)
            {
                while (_call is null && !_stopped) Monitor.Wait(_gate);
                var call = _call;
                _call = null;
                return call;
            }
        }

        public void Post(Func<Action> call)
        {
            lock (_gate)
            {
                _call = call;
                Monitor.Pulse(_gate);
            }
        }

        public void Stop()
        {
            lock (_gate)
            {
                _stopped = true;
                Monitor.Pulse(_gate);
            }
        }
    }
}
