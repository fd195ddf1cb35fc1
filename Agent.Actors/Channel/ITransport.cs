using Akka.Actor;

namespace Agent.Actors.Channel;

/// <summary>
/// A byte pipe to the host: virtio-serial, isa-serial, a unix or vsock listener, or memory in tests.
/// It reports what happens as <see cref="ChannelActor"/> messages (ClientConnected, BytesReceived,
/// ClientDisconnected, TransportFailed) told to the owner; reads never block an actor thread.
/// </summary>
public interface ITransport : IDisposable
{
    /// <summary>Opens the channel and starts reporting to <paramref name="owner"/>. Throws if it cannot open.</summary>
    void Start(IActorRef owner);

    /// <summary>Writes all of <paramref name="data"/> to connection <paramref name="conn"/>.</summary>
    Task WriteAsync(long conn, ReadOnlyMemory<byte> data, CancellationToken cancel);

    /// <summary>
    /// True for a listener: a client that stops reading can be disconnected after write-timeout, since a
    /// new connection starts clean. A serial port has one endless stream, so a cut line would corrupt it.
    /// </summary>
    bool CutsOffStalledClients { get; }

    /// <summary>Stops or resumes reading: the channel's backpressure when replies pile up.</summary>
    void SetReading(bool enabled);

    /// <summary>
    /// After a ClientDisconnected, the channel calls this once every reply owed to that connection has
    /// been written or dropped; a listener then closes the socket and accepts the next client.
    /// </summary>
    void EndConnection(long conn);
}
