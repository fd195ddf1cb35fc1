using System.Diagnostics.Tracing;
using System.Net.Sockets;
using System.Text;

// The agent in this process (Agent.Host's Main on a thread), read-only commands only, every command
// that could act on the machine blocked; the client sends from one buffer and reads into another.
var n = args.Length > 0 ? int.Parse(args[0]) : 20_000;
var dir = Directory.CreateTempSubdirectory("request-allocations-").FullName;
var sock = Path.Combine(dir, "agent.sock");
var state = Directory.CreateDirectory(Path.Combine(dir, "state")).FullName;
const string blocked = "guest-shutdown,guest-suspend-disk,guest-suspend-ram,guest-suspend-hybrid,guest-set-time," +
    "guest-fsfreeze-freeze,guest-fsfreeze-freeze-list,guest-fsfreeze-thaw,guest-fstrim,guest-set-vcpus," +
    "guest-set-memory-blocks,guest-set-user-password,guest-ssh-add-authorized-keys,guest-ssh-remove-authorized-keys";
new Thread(() => Agent.Host.Program.Main(["-m", "unix-listen", "-p", sock, "-t", state, "-b", blocked]))
    { IsBackground = true }.Start();

var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
for (var tries = 0; ; tries++)
{
    try { client.Connect(new UnixDomainSocketEndPoint(sock)); break; }
    catch (SocketException) when (tries < 600) { Thread.Sleep(50); }
}
var reply = new byte[1 << 16];

void Run(byte[] line, int count)
{
    for (var i = 0; i < count; i++)
    {
        client.Send(line);
        var got = 0;
        do got += client.Receive(reply.AsSpan(got));
        while (reply[got - 1] != (byte)'\n');
        if (reply[2] != (byte)'r') throw new InvalidOperationException(Encoding.UTF8.GetString(reply, 0, got));
    }
}

var types = args.Length > 1 && args[1] == "--types" ? new AllocationTypes() : null;
Console.WriteLine($"{"command",-24} {"bytes/req",10} {"gen0 GCs per 10,000",20}");
foreach (var command in new[] { "guest-ping", "guest-get-osinfo", "guest-info" })
{
    var line = Encoding.UTF8.GetBytes($"{{\"execute\":\"{command}\"}}\n");
    Run(line, 5_000);
    var bytes = GC.GetTotalAllocatedBytes(precise: true);
    var gen0 = GC.CollectionCount(0);
    types?.Start();
    Run(line, n);
    types?.Stop();
    var perRequest = (GC.GetTotalAllocatedBytes(precise: true) - bytes) / (double)n;
    Console.WriteLine($"{command,-24} {perRequest,10:0} {(GC.CollectionCount(0) - gen0) * 10_000.0 / n,20:0.0}");
    types?.Print();
}
client.Dispose();
Directory.Delete(dir, recursive: true);
return 0;

/// <summary>The types of the runtime's GCAllocationTick samples (one per ~100 KB allocated) during a run.</summary>
sealed class AllocationTypes : EventListener
{
    private readonly Dictionary<string, int> _counts = new();
    private volatile bool _on;

    public void Start() { lock (_counts) _counts.Clear(); _on = true; }
    public void Stop() => _on = false;

    public void Print()
    {
        lock (_counts)
        {
            var total = _counts.Values.Sum();
            foreach (var (type, count) in _counts.OrderByDescending(p => p.Value).Take(25))
                Console.WriteLine($"    {100.0 * count / total,5:0.0}%  {type}{Owner(type)}");
        }
    }

    // A closure's class is named after its method's ordinal only: say which type declares it.
    private static string Owner(string type) => !type.StartsWith("<>") ? "" : " in " + string.Join(", ",
        AppDomain.CurrentDomain.GetAssemblies().SelectMany(a => { try { return a.GetTypes(); } catch { return []; } })
            .Where(t => t.Name == type && t.DeclaringType is not null).Select(t => t.DeclaringType!.FullName));

    protected override void OnEventSourceCreated(EventSource source)
    {
        if (source.Name == "Microsoft-Windows-DotNETRuntime") EnableEvents(source, EventLevel.Verbose, (EventKeywords)1);
    }

    protected override void OnEventWritten(EventWrittenEventArgs e)
    {
        if (!_on || e.EventName is null || !e.EventName.StartsWith("GCAllocationTick")) return;
        var index = e.PayloadNames!.IndexOf("TypeName");
        if (index < 0) return;
        var type = e.Payload![index] as string ?? "?";
        lock (_counts) _counts[type] = _counts.GetValueOrDefault(type) + 1;
    }
}
