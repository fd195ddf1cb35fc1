using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;

namespace Agent.Tests.EndToEnd;

/// <summary>
/// A qemu-ga-compatible agent process on a unix socket in a temp folder, driven the way test-qga
/// drives qemu-ga: cwd and state dir are the temp folder, one connection, SIGTERM at the end.
/// Runs our built Agent.Host, or Debian's qemu-ga as the oracle.
/// </summary>
public sealed partial class AgentProcess : IAsyncDisposable
{
    public const string QemuGa = "/usr/sbin/qemu-ga";

    private readonly Process _process;
    private readonly StringBuilder _stderr = new();
    private Socket? _socket;
    private readonly List<byte> _pending = new();

    public string Dir { get; }
    public string SocketPath => Path.Combine(Dir, "sock");
    public int Pid => _process.Id;

    private AgentProcess(Process process, string dir)
    {
        _process = process;
        Dir = dir;
    }

    /// <summary>The path of our agent binary (copied next to the tests by the project reference).</summary>
    public static string OurAgent => Path.Combine(AppContext.BaseDirectory, "Agent.Host");

    public static Task<AgentProcess> StartOursAsync(params string[] extraArgs) => StartAsync(OurAgent, extraArgs);

    public static Task<AgentProcess> StartQemuGaAsync(params string[] extraArgs)
    {
        if (!File.Exists(QemuGa))
            throw new InvalidOperationException($"{QemuGa} is missing: install Debian's qemu-guest-agent (.ci/run does)");
        return StartAsync(QemuGa, extraArgs);
    }

    public static async Task<AgentProcess> StartAsync(string binary, string[] extraArgs,
        IReadOnlyDictionary<string, string>? environment = null, bool connect = true)
    {
        var dir = Directory.CreateTempSubdirectory("agent-e2e-").FullName;
        var psi = new ProcessStartInfo(binary)
        {
            WorkingDirectory = dir,
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { "-m", "unix-listen", "-p", Path.Combine(dir, "sock"), "-t", dir }.Concat(extraArgs))
            psi.ArgumentList.Add(a);
        if (environment is not null)
        {
            psi.Environment.Clear();
            foreach (var (k, v) in environment) psi.Environment[k] = v;
        }
        // Never the machine's /etc/actoragent/agent.conf: a missing file is simply not a layer.
        if (!psi.Environment.ContainsKey("ACTORAGENT_CONF")) psi.Environment["ACTORAGENT_CONF"] = Path.Combine(dir, "no-agent.conf");
        var process = Process.Start(psi)!;
        var agent = new AgentProcess(process, dir);
        process.ErrorDataReceived += (_, e) => { lock (agent._stderr) agent._stderr.AppendLine(e.Data); };
        process.BeginErrorReadLine();
        if (connect) await agent.ConnectAsync();
        return agent;
    }

    public string Stderr { get { lock (_stderr) return _stderr.ToString(); } }

    /// <summary>Connects like test-qga: retry while the socket is not there yet.</summary>
    public async Task ConnectAsync(TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            if (_process.HasExited)
                throw new InvalidOperationException($"agent exited with {_process.ExitCode}: {Stderr}");
            var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                await s.ConnectAsync(new UnixDomainSocketEndPoint(SocketPath));
                _socket = s;
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                s.Dispose();
                await Task.Delay(20);
            }
        }
    }

    public async Task SendAsync(byte[] data)
    {
        var sent = 0;
        while (sent < data.Length) sent += await _socket!.SendAsync(data.AsMemory(sent), SocketFlags.None);
    }

    public Task SendAsync(string text) => SendAsync(Encoding.UTF8.GetBytes(text));

    /// <summary>Reads one line (without '\n'); bytes map 1:1 to chars so a leading 0xFF shows as U+00FF.</summary>
    public async Task<string> ReadLineAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(20));
        var buffer = new byte[65536];
        while (true)
        {
            var nl = _pending.IndexOf((byte)'\n');
            if (nl >= 0)
            {
                var line = _pending.Take(nl).ToArray();
                _pending.RemoveRange(0, nl + 1);
                return Encoding.Latin1.GetString(line);
            }
            var n = await _socket!.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
            if (n == 0) throw new EndOfStreamException("agent closed the connection");
            _pending.AddRange(buffer.AsSpan(0, n).ToArray());
        }
    }

    /// <summary>Sends one request line and reads one reply line.</summary>
    public async Task<string> RoundTripAsync(string request)
    {
        await SendAsync(request + "\n");
        return await ReadLineAsync();
    }

    /// <summary>
    /// The documented client handshake: 0xFF flushes whatever the parser holds (a previous client's
    /// half request included), then guest-sync-delimited; lines before the 0xFF-led reply are the
    /// flush's own error noise. Returns the echoed id.
    /// </summary>
    public async Task<long> ResyncAsync(long id)
    {
        await SendAsync([0xFF]);
        await SendAsync($"{{\"execute\":\"guest-sync-delimited\",\"arguments\":{{\"id\":{id}}}}}\n");
        while (true)
        {
            var line = await ReadLineAsync();
            if (line.StartsWith('\u00FF')) return Json.Parse(line[1..]).GetProperty("return").GetInt64();
        }
    }

    public async Task<bool> StaysSilentAsync(TimeSpan wait)
    {
        if (_pending.Count > 0) return false;
        using var cts = new CancellationTokenSource(wait);
        var buffer = new byte[4096];
        try
        {
            var n = await _socket!.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
            _pending.AddRange(buffer.AsSpan(0, n).ToArray());
            return false;
        }
        catch (OperationCanceledException)
        {
            return true;
        }
    }

    /// <summary>Half-close, as `echo ... | socat - UNIX-CONNECT:` does after its input ends.</summary>
    public void ShutdownWrite() => _socket!.Shutdown(SocketShutdown.Send);

    public void CloseConnection()
    {
        _socket?.Dispose();
        _socket = null;
        _pending.Clear();
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    public const int SIGTERM = 15;

    /// <summary>Sends SIGTERM and returns the exit status.</summary>
    public async Task<int> TerminateAsync(TimeSpan? timeout = null)
    {
        Kill(_process.Id, SIGTERM);
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(20));
        await _process.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        _socket?.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
        try { Directory.Delete(Dir, recursive: true); } catch (IOException) { }
    }
}
