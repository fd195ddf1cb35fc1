using System.Collections.Concurrent;
using System.Globalization;

namespace Agent.Actors.Audit;

/// <summary>
/// Where audit records go when syslog cannot take them. A bounded queue drained by one background
/// thread, so a blocked stderr (a pipe nobody reads) costs records, never an actor's thread.
/// </summary>
public sealed class StderrFallback(TextWriter target, int capacity) : IDisposable
{
    private readonly BlockingCollection<string> _lines = new(capacity);
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
        return _lines.TryAdd($"{seconds.ToString("F6", CultureInfo.InvariantCulture)}: audit: {record}");
    }

    private void Drain()
    {
        foreach (var line in _lines.GetConsumingEnumerable())
        {
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

    public void Dispose() => _lines.CompleteAdding();
}
