using Agent.Actors.Settings;

namespace Agent.Actors.Channel;

/// <summary>The channel methods of qemu-ga's -m option and their default paths (qga/main.c, channel_init; qga/channel-posix.c, ga_channel_open).</summary>
public static class Transports
{
    public static readonly IReadOnlyList<string> Methods = ["virtio-serial", "isa-serial", "unix-listen", "vsock-listen"];

    public const string VirtioDefaultPath = "/dev/virtio-ports/org.qemu.guest_agent.0";
    public const string IsaDefaultPath = "/dev/ttyS0";

    /// <summary>The path a method uses when none is configured; null when the method requires one.</summary>
    public static string? DefaultPath(string method) => method switch
    {
        "virtio-serial" => VirtioDefaultPath,
        "isa-serial" => IsaDefaultPath,
        _ => null,
    };

    /// <summary>A factory the channel calls at start and on every retry.</summary>
    public static Func<ITransport> Factory(ChannelSettings s)
    {
        var path = s.Path.Length > 0 ? s.Path : DefaultPath(s.Method)
            ?? throw new ArgumentException("must specify a path for this channel");
        return s.Method switch
        {
            "virtio-serial" => () => CharDeviceTransport.VirtioSerial(path, s.ReadSize, s.DisconnectBackoff),
            "isa-serial" => () => CharDeviceTransport.IsaSerial(path, s.ReadSize, s.DisconnectBackoff),
            "unix-listen" => () => ListenTransport.Unix(path, s.ReadSize),
            "vsock-listen" => () => ListenTransport.Vsock(path, s.ReadSize),
            _ => throw new ArgumentException($"unsupported channel method/type: {s.Method}"),
        };
    }
}
