using System.Threading.Channels;
using Agent.Actors.Channel;
using Akka.Actor;

namespace Agent.Tests.Channel;

/// <summary>A host session in memory: the test pushes bytes and reads the agent's output.</summary>
public sealed class InMemoryTransport(bool cutsOffStalledClients = true) : ITransport
{
    private readonly System.Threading.Channels.Channel<byte> _output = System.Threading.Channels.Channel.CreateUnbounded<byte>();
    private readonly TaskCompletionSource<IActorRef> _owner = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _conn = 1;

    public bool Reading { get; private set; } = true;

    public void Start(IActorRef owner)
    {
        owner.Tell(new ChannelActor.ClientConnected(_conn));
        _owner.SetResult(owner);
    }

    /// <summary>The channel starts its transport in PreStart, asynchronously: sends wait for that.</summary>
    private IActorRef Owner => _owner.Task.Wait(TimeSpan.FromSeconds(10)) ? _owner.Task.Result
        : throw new TimeoutException("the channel never started its transport");

    public void Send(byte[] data) => Owner.Tell(new ChannelActor.BytesReceived(_conn, data));

    public void Send(string text) => Send(System.Text.Encoding.UTF8.GetBytes(text));

    /// <summary>A new client: parser state is carried over, replies for the old client are dropped.</summary>
    public void Reconnect()
    {
        // As a listener's socket closes: a write still waiting for the old client fails.
        _stalledAt?.TrySetException(new IOException("the client has disconnected"));
        Owner.Tell(new ChannelActor.ClientDisconnected(_conn));
        _conn++;
        Owner.Tell(new ChannelActor.ClientConnected(_conn));
    }

    private TaskCompletionSource? _stalled;

    /// <summary>From now on writes wait, as to a host that stopped reading, until <see cref="ResumeWrites"/>.</summary>
    public void StallWrites() => _stalled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    public void ResumeWrites()
    {
        _stalled?.TrySetResult();
        _stallAfter = long.MaxValue;
        _stalledAt?.TrySetResult();
    }

    private long _stallAfter = long.MaxValue;
    private TaskCompletionSource? _stalledAt;

    /// <summary>Bytes taken from the channel so far.</summary>
    public long BytesWritten { get; private set; }

    /// <summary>
    /// Takes writes until <paramref name="bytes"/> have been written in all, then waits mid-write, as a host
    /// that stopped reading part-way through a line, until <see cref="ResumeWrites"/>, the channel's
    /// cancellation (the write fails), or <see cref="Reconnect"/> (it fails).
    /// </summary>
    public void StallAfter(long bytes) => _stallAfter = bytes;

    /// <summary>True once a write has waited in <see cref="StallAfter"/> (it may have ended since).</summary>
    public bool HasStalledMidWrite => _stalledAt is not null;

    /// <summary>Writes the channel has asked for.</summary>
    public int WriteCalls { get; private set; }

    public Task WriteAsync(long conn, ReadOnlyMemory<byte> data, CancellationToken cancel)
    {
        WriteCalls++;
        if (BytesWritten + data.Length > _stallAfter)
        {
            var now = (int)Math.Max(0, _stallAfter - BytesWritten);
            Take(data.Span[..now]);
            var rest = data[now..].ToArray();
            var stalledAt = _stalledAt = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            cancel.Register(() => stalledAt.TrySetCanceled());
            return stalledAt.Task.ContinueWith(t =>
            {
                if (t.IsCanceled) throw new OperationCanceledException("write timed out");
                t.GetAwaiter().GetResult();
                Take(rest);
            }, TaskScheduler.Default);
        }
        if (_stalled is { Task.IsCompleted: false } stalled)
        {
            var copy = data.ToArray();
            return stalled.Task.ContinueWith(_ =>
            {
                Take(copy);
            }, TaskScheduler.Default);
        }
        Take(data.Span);
        return Task.CompletedTask;
    }

    private void Take(ReadOnlySpan<byte> data)
    {
        BytesWritten += data.Length;
        foreach (var b in data) _output.Writer.TryWrite(b);
    }

    public bool CutsOffStalledClients => cutsOffStalledClients;

    public void SetReading(bool enabled) => Reading = enabled;

    public List<long> EndedConnections { get; } = new();

    public void EndConnection(long conn) => EndedConnections.Add(conn);

    /// <summary>Reads one reply line (without its '\n'); a leading 0xFF is kept as the char U+00FF.</summary>
    public async Task<string> ReadLineAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        var bytes = new List<byte>();
        while (true)
        {
            var b = await _output.Reader.ReadAsync(cts.Token);
            if (b == (byte)'\n') return string.Concat(bytes.Select(x => (char)x));
            bytes.Add(b);
        }
    }

    /// <summary>True if nothing is written within <paramref name="wait"/>.</summary>
    public async Task<bool> StaysSilentAsync(TimeSpan wait)
    {
        using var cts = new CancellationTokenSource(wait);
        try
        {
            await _output.Reader.WaitToReadAsync(cts.Token);
            return false;
        }
        catch (OperationCanceledException)
        {
            return true;
        }
    }

    public void Dispose() { }
}
