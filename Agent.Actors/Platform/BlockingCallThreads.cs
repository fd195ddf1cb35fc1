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

    public Task<T> Run<T>(Func<T> call)
    {
        var result = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_idle.TryTake(out var worker)) worker = new Worker(this, name);
        worker.Post(() =>
        {
            try { result.SetResult(call()); }
            catch (Exception ex) { result.SetException(ex); }
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

    private sealed class Worker
    {
        private readonly BlockingCollection<Action> _calls = new(boundedCapacity: 1);

        public Worker(BlockingCallThreads owner, string name)
        {
            new Thread(() =>
            {
                foreach (var call in _calls.GetConsumingEnumerable())
                {
                    call();
                    owner.Finished(this);
                }
            }) { IsBackground = true, Name = name }.Start();
        }

        public void Post(Action call) => _calls.Add(call);

        public void Stop() => _calls.CompleteAdding();
    }
}
