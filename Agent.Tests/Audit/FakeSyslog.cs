using System.Net.Sockets;
using System.Text;

namespace Agent.Tests.Audit;

/// <summary>A syslog daemon's /dev/log stand-in: a datagram socket bound in a temp folder.</summary>
public sealed class FakeSyslog : IDisposable
{
    private readonly Socket _socket = new(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);

    public string Path { get; }

    public FakeSyslog(string path, int? receiveBuffer = null)
    {
        Path = path;
        if (receiveBuffer is { } size) _socket.ReceiveBufferSize = size;
        _socket.Bind(new UnixDomainSocketEndPoint(path));
    }

    /// <summary>The next datagram as text; fails the test when none comes within <paramref name="timeout"/>.</summary>
    public async Task<string> ReceiveAsync(TimeSpan? timeout = null)
    {
        var buffer = new byte[256 * 1024];
        using var cancel = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(20));
        try
        {
            var n = await _socket.ReceiveAsync(buffer, SocketFlags.None, cancel.Token);
            return Encoding.UTF8.GetString(buffer, 0, n);
        }
        catch (OperationCanceledException)
        {
            throw new Xunit.Sdk.XunitException("no syslog datagram arrived");
        }
    }

    /// <summary>True when nothing arrives within <paramref name="wait"/>.</summary>
    public async Task<bool> StaysSilentAsync(TimeSpan wait)
    {
        var buffer = new byte[256 * 1024];
        using var cancel = new CancellationTokenSource(wait);
        try
        {
            await _socket.ReceiveAsync(buffer, SocketFlags.None, cancel.Token);
            return false;
        }
        catch (OperationCanceledException)
        {
            return true;
        }
    }

    /// <summary>The syslog header glibc writes for <paramref name="utc"/> with the test process's pid.</summary>
    public static string Header(DateTime utc, string tag = "actoragent", int priority = 14)
    {
        var local = utc.ToLocalTime();
        return $"<{priority}>{local.ToString("MMM", System.Globalization.CultureInfo.InvariantCulture)} {local.Day,2} " +
               $"{local.ToString("HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture)} {tag}[{Environment.ProcessId}]: ";
    }

    public void Dispose() => _socket.Dispose();
}
