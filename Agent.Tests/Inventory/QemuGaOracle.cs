using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;

namespace Agent.Tests.Inventory;

/// <summary>
/// Debian's qemu-ga (7.2) on a unix socket in a temp folder, asked only read-only questions.
/// One connection per request, as Proxmox does; the agent accepts the next client after a close.
/// </summary>
public sealed class QemuGaOracle : IDisposable
{
    private const string Binary = "/usr/sbin/qemu-ga";
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("qemu-ga-oracle-");
    private readonly Process _agent;

    public string Socket => Path.Join(_dir.FullName, "sock");

    public QemuGaOracle()
    {
        var start = new ProcessStartInfo(Binary, ["-m", "unix-listen", "-p", Socket, "-t", _dir.FullName])
        {
            WorkingDirectory = _dir.FullName,
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        _agent = Process.Start(start) ?? throw new InvalidOperationException("qemu-ga did not start");
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!File.Exists(Socket))
        {
            if (_agent.HasExited) throw new InvalidOperationException($"qemu-ga exited: {_agent.StandardError.ReadToEnd()}");
            if (DateTime.UtcNow > deadline) throw new TimeoutException("qemu-ga did not create its socket");
            Thread.Sleep(20);
        }
    }

    /// <summary>Sends one request line and returns the parsed reply object.</summary>
    public async Task<JsonObject> Ask(string request)
    {
        using var socket = new System.Net.Sockets.Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(Socket));
        await socket.SendAsync(Encoding.UTF8.GetBytes(request + "\n"));
        var reply = new List<byte>();
        var buffer = new byte[65536];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        while (!reply.Contains((byte)'\n'))
        {
            var n = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
            if (n == 0) break;
            reply.AddRange(buffer.AsSpan(0, n));
        }
        return (JsonObject)JsonNode.Parse(Encoding.UTF8.GetString(reply.ToArray()))!;
    }

    public Task<JsonObject> Execute(string command, string arguments = "{}") =>
        Ask($$"""{"execute":"{{command}}","arguments":{{arguments}}}""");

    public void Dispose()
    {
        if (!_agent.HasExited)
        {
            _agent.Kill();
            _agent.WaitForExit(10_000);
        }
        _agent.Dispose();
        try { _dir.Delete(recursive: true); }
        catch (IOException) { }
    }
}
