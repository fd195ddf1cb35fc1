using System.Collections;
using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Agent.Tests.Fakes;
using Agent.Tests.Commands.Power;

namespace Agent.Tests.EndToEnd;

/// <summary>
/// Type=notify without systemd: the built agent started with $NOTIFY_SOCKET pointing at a datagram
/// socket in a temp folder (what systemd gives a service), $WATCHDOG_USEC as WatchdogSec= sets it.
/// </summary>
public sealed class SystemdNotifySpecs : IDisposable
{
    private readonly FakeGuest _guest = new();
    private readonly string _notifyPath;
    private readonly Socket _notify = new(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
    private readonly List<(TimeSpan At, string Text)> _received = [];
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly CancellationTokenSource _stop = new();

    public SystemdNotifySpecs()
    {
        _notifyPath = Path.Combine(_guest.Root, "notify");
        _notify.Bind(new UnixDomainSocketEndPoint(_notifyPath));
        _ = Task.Run(ReceiveAll);
    }

    private async Task ReceiveAll()
    {
        var buffer = new byte[4096];
        while (!_stop.IsCancellationRequested)
        {
            int n;
            try { n = await _notify.ReceiveAsync(buffer, SocketFlags.None, _stop.Token); }
            catch (Exception) { return; }
            lock (_received) _received.Add((_clock.Elapsed, Encoding.UTF8.GetString(buffer, 0, n)));
        }
    }

    private List<(TimeSpan At, string Text)> Received()
    {
        lock (_received) return [.. _received];
    }

    private async Task<(TimeSpan At, string Text)> WaitFor(Func<string, bool> match, TimeSpan? timeout = null)
    {
        var deadline = _clock.Elapsed + (timeout ?? TimeSpan.FromSeconds(30));
        while (_clock.Elapsed < deadline)
        {
            foreach (var r in Received())
                if (match(r.Text)) return r;
            await Task.Delay(10);
        }
        throw new TimeoutException($"no notification matched; got: {string.Join(" | ", Received().Select(r => r.Text))}");
    }

    private Task<AgentProcess> Start(long? watchdogUsec, bool connect = true)
    {
        var conf = Path.Combine(_guest.Root, "agent.conf");
        File.WriteAllText(conf, _guest.Hocon());
        var environment = Environment.GetEnvironmentVariables().Cast<DictionaryEntry>()
            .ToDictionary(e => (string)e.Key, e => (string)e.Value!);
        environment["NOTIFY_SOCKET"] = _notifyPath;
        if (watchdogUsec is { } usec) environment["WATCHDOG_USEC"] = usec.ToString();
        return AgentProcess.StartAsync(AgentProcess.OurAgent, ["-c", conf], environment, connect);
    }

    [Fact]
    public async Task Ready_comes_once_the_socket_answers_and_stopping_comes_on_SIGTERM()
    {
        await using var agent = await Start(watchdogUsec: null, connect: false);
        var ready = await WaitFor(t => t.Contains("READY=1"));
        Assert.Contains($"STATUS=serving unix-listen {agent.SocketPath}", ready.Text);
        // Ready means a host can talk now: one connect, no retries.
        await agent.ConnectAsync(TimeSpan.FromMilliseconds(1));
        Assert.Equal("{\"return\": {}}", await agent.RoundTripAsync("{\"execute\":\"guest-ping\"}"));
        Assert.Single(Received(), r => r.Text.Contains("READY=1"));
        Assert.DoesNotContain(Received(), r => r.Text.Contains("STOPPING=1"));

        Assert.Equal(0, await agent.TerminateAsync());
        var stopping = await WaitFor(t => t.Contains("STOPPING=1"), TimeSpan.FromSeconds(5));
        Assert.True(stopping.At > ready.At);
        // No keep-alives when the service manager asked for none.
        Assert.DoesNotContain(Received(), r => r.Text.Contains("WATCHDOG=1"));
    }

    [Fact]
    public async Task Watchdog_keepalives_go_on_while_a_long_command_runs()
    {
        // The suspend's helper takes 3 s: the command is in flight all that time.
        _guest.Helper("systemctl", "[ \"$1\" = status ] && exit 3; sleep 3; exit 0");
        await using var agent = await Start(watchdogUsec: 400_000);
        await WaitFor(t => t.Contains("READY=1"));
        await WaitFor(t => t.Contains("WATCHDOG=1"));

        await agent.SendAsync("{\"execute\": \"guest-suspend-disk\"}\n");
        await Task.Delay(300);
        var busyFrom = _clock.Elapsed;
        await Task.Delay(2000);
        var busyTo = _clock.Elapsed;
        Assert.Equal("systemctl hibernate", _guest.Calls().Last());
        // Interval 200 ms (half of WATCHDOG_USEC): ~10 in those 2 s; allow for a loaded machine.
        var during = Received().Count(r => r.Text == "WATCHDOG=1" && r.At >= busyFrom && r.At <= busyTo);
        Assert.True(during >= 3, $"{during} keep-alives while the command ran");
        Assert.Equal("{\"return\": {}}", await agent.RoundTripAsync("{\"execute\":\"guest-ping\"}"));
        Assert.Equal(0, await agent.TerminateAsync());
    }

    [Fact]
    public async Task A_stopped_agent_sends_no_keepalives()
    {
        await using var agent = await Start(watchdogUsec: 400_000);
        await WaitFor(t => t.Contains("WATCHDOG=1"));
        Process.Start("kill", ["-STOP", agent.Pid.ToString()]).WaitForExit();
        try
        {
            await Task.Delay(300);
            var from = _clock.Elapsed;
            await Task.Delay(1000);
            Assert.DoesNotContain(Received(), r => r.Text == "WATCHDOG=1" && r.At >= from);
        }
        finally
        {
            Process.Start("kill", ["-CONT", agent.Pid.ToString()]).WaitForExit();
        }
        var resumed = _clock.Elapsed;
        var again = await WaitForAfter("WATCHDOG=1", resumed);
        Assert.True(again > resumed);
        Assert.Equal(0, await agent.TerminateAsync());
    }

    private async Task<TimeSpan> WaitForAfter(string text, TimeSpan after)
    {
        var deadline = _clock.Elapsed + TimeSpan.FromSeconds(10);
        while (_clock.Elapsed < deadline)
        {
            if (Received().FirstOrDefault(r => r.Text == text && r.At > after) is { Text: not null } r) return r.At;
            await Task.Delay(10);
        }
        throw new TimeoutException($"no {text} after {after}");
    }

    public void Dispose()
    {
        _stop.Cancel();
        _notify.Dispose();
        _guest.Dispose();
    }
}
