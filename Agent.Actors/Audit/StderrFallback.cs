using System.Globalization;

namespace Agent.Actors.Audit;

/// <summary>
/// Where audit records go when syslog cannot take them. A bounded queue drained by one background
/// thread, so a blocked stderr (a pipe nobody reads) costs records, never an actor's thread.
/// </summary>
public sealed class StderrFallback(TextWriter target, int capacity) : IDisposable
{
    // A plain queue under a lock, waited on with Monitor.Wait: a BlockingCollection spun (sched_yield)
    // before sleeping, several context switches per record on an agent's one CPU (bench/README.md).
    private readonly Queue<string> _lines = new();
    private bool _completed;
    private Thread? _writer;

    /// <summary>Queues one record; false when the queue is full and the record is lost.</summary>
    public bool TryWrite(DateTime utc, string record)
    {
        if (_writer is null)
        {
            _writer = new Thread(Drain) { IsBackground = true, Name = "audit-stderr" };
            _writer.Start();
        }
        var seconds = (utc - DateTime.UnixEpoch).Ticks / (double)TimeSpan.TicksPerSecond;
        var line = $"{seconds.ToString("F6", CultureInfo.InvariantCulture)}: audit: {record}";
        lock (_lines)
        {
            if (_completed || _lines.Count >= capacity) return false;
            _lines.Enqueue(line);
            Monitor.Pulse(_lines);
            return true;
        }
    }

    private void Drain()
    {
        while (true)
        {
            string line;
            lock (_lines)
            {
                while (_lines.Count == 0 && !_completed) Monitor.Wait(_lines);
                if (!_lines.TryDequeue(out line!)) return;
            }
            try
            {
                target.WriteLine(line);
                target.Flush();
            }
            catch (IOException)
            {
                // stderr closed or broken: nothing else can be done with the record.
            }
        }
    }

    public void Dispose()
    {
        lock (_lines)
        {
            _completed = true;
            Monitor.Pulse(_lines);
        }
    }
}
