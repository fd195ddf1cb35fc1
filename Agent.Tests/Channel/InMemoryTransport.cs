using System.Threading.Channels;
using Agent.Actors.Channel;
using Akka.Actor;

namespace Agent.Tests.Channel;

/// <summary>A host session in memory: the test pushes bytes and reads the agent's output.</summary>
public sealed class InMemoryTransport : ITransport
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
        Owner.Tell(new ChannelActor.ClientDisconnected(_conn));
        _conn++;
        Owner.Tell(new ChannelActor.ClientConnected(_conn));
    }

    private TaskCompletionSource? _stalled;

    /// <summary>From now on writes wait, as to a host that stopped reading, until <see cref="ResumeWrites"/>.</summary>
    public void StallWrites() => _stalled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    public void ResumeWrites() => _stalled?.TrySetResult();

    public Task WriteAsync(long conn, ReadOnlyMemory<byte> data, CancellationToken cancel)
    {
        if (_stalled is { Task.IsCompleted: false } stalled)
        {
            var copy = data.ToArray();
            return stalled.Task.ContinueWith(_ =>
            {
                foreach (var b in copy) _output.Writer.TryWrite(b);
            }, TaskScheduler.Default);
        }
        foreach (var b in data.Span) _output.Writer.TryWrite(b);
        return Task.CompletedTask;
    }

    public bool CutsOffStalledClients => true;

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
