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
    /// After <see cref="ChannelActor.ClientDisconnected"/>: every reply owed to <paramref name="conn"/> has
    /// been written or dropped, so the transport may close it. A host that half-closes after its requests
    /// (<c>echo ... | socat</c>) still gets its replies, as qemu-ga answers what it read before the EOF.
    /// </summary>
    void ReleaseClient(long conn);

    /// <summary>Stops or resumes reading: the channel's backpressure when replies pile up.</summary>
    void SetReading(bool enabled);
}
