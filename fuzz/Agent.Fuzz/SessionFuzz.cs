using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using CsCheck;

namespace Agent.Fuzz;

/// <summary>
/// The long-running loop over <see cref="FuzzSession"/>: generates batches, keeps them safe, checks each
/// round, restarts a wedged agent, narrows a hang down to the one input that caused it, samples memory,
/// and writes every distinct failure into the corpus' failures folder.
/// </summary>
public sealed partial class SessionFuzz(SessionFuzz.Options options, TextWriter log)
{
    public sealed record Options(
        long Inputs,
        ulong Seed,
        string? CorpusDir,
        TimeSpan HangTimeout,
        int MaxBatch = 512,
        int Pipeline = 2,
        int HangsBeforeQuarantine = 3,
        long ManagedHeapBound = 512L << 20,
        int MemoryEvery = 250,
        TimeSpan? ReportEvery = null,
        TimeSpan? StopAfter = null);

    public sealed record Failure(string Kind, string Message, string? SavedAs, int Count);

    public sealed record Summary(long Inputs, long Rounds, long Replies, TimeSpan Elapsed, long PeakWorkingSet, long PeakManagedAfterGc,
        IReadOnlyList<Failure> Failures, IReadOnlyList<string> Quarantined);

    private readonly Dictionary<string, Failure> _failures = new();
    private readonly Dictionary<string, int> _hangsByCommand = new();
    private readonly HashSet<string> _quarantined = new();

    private long _inputs;

    /// <summary>Inputs checked so far (read by the runner's progress line while <see cref="Run"/> runs on another thread).</summary>
    public long InputsSoFar => Interlocked.Read(ref _inputs);

    /// <summary>A round in flight: its inputs (for the corpus) and what <see cref="FuzzSession.Send"/> returned.</summary>
    private sealed record InFlight(List<byte[]> Batch, FuzzSession.Pending Pending);

    public Summary Run()
    {
        var pcg = new PCG(11, options.Seed);
        var guest = new FuzzGuest();
        var seeds = Corpus.Seeds(options.CorpusDir);
        var generator = new RequestGenerator(pcg, guest, seeds);
        var session = new FuzzSession(guest);
        var clock = Stopwatch.StartNew();
        var lastReport = TimeSpan.Zero;
        long sent = 0, rounds = 0, replies = 0, peakWs = 0, peakManaged = 0;
        // Rounds are pipelined: round N+1 is generated and sent before round N's replies are read, so the
        // harness builds while the agent answers. Replies come in order and each round ends at its barrier.
        var flight = new Queue<InFlight>();
        try
        {
            var stopAt = options.StopAfter ?? TimeSpan.MaxValue;
            while (_inputs < options.Inputs && (flight.Count > 0 || clock.Elapsed < stopAt))
            {
                while (flight.Count < options.Pipeline && sent < options.Inputs && clock.Elapsed < stopAt)
                {
                    var count = (int)Math.Min(1 + pcg.Next((uint)options.MaxBatch), options.Inputs - sent);
                    var next = SendRound(count, pcg, generator, guest, session);
                    flight.Enqueue(next);
                    sent += next.Batch.Count;
                }

                if (flight.Count == 0) break;
                var (batch, pending) = flight.Dequeue();
                var outcome = session.Receive(pending, options.HangTimeout);
                Interlocked.Add(ref _inputs, batch.Count);
                rounds++;
                replies += outcome.Replies;
                foreach (var (command, value) in outcome.Learned) generator.Observe(command, value);

                // An error logged now may come from this round or from one sent after it: both are kept.
                var errors = session.Errors.Drain();
                foreach (var error in errors)
                    Record("error-log", error, [.. batch, .. flight.SelectMany(f => f.Batch)]);
                if (outcome.Failure is { } failure)
                {
                    var hang = failure.StartsWith("hang", StringComparison.Ordinal);
                    var culprit = hang ? Isolate(batch, guest) : null;
                    var culpritCommand = culprit is null ? null : SafetyFilter.Commands(culprit).LastOrDefault();
                    Record(hang ? "hang" : "reply", failure + (culprit is null ? "" : " — alone: " + Show(culprit)), culprit is null ? batch : [culprit],
                        key: culpritCommand is null ? null : $"hang:{culpritCommand}");
                    if (culpritCommand is not null)
                    {
                        // A known wedge would cost a hang timeout each time: after a few, stop sending the command.
                        _hangsByCommand[culpritCommand] = _hangsByCommand.GetValueOrDefault(culpritCommand) + 1;
                        if (_hangsByCommand[culpritCommand] >= options.HangsBeforeQuarantine && _quarantined.Add(culpritCommand))
                            log.WriteLine($"quarantined {culpritCommand} after {options.HangsBeforeQuarantine} hangs");
                    }
                    if (hang)
                    {
                        // The rounds sent after it went to the wedged agent: they are not counted, and are sent again as new ones.
                        foreach (var lost in flight) sent -= lost.Batch.Count;
                        flight.Clear();
                        session.Dispose();
                        guest.Dispose();
                        guest = new FuzzGuest();
                        generator = new RequestGenerator(pcg, guest, seeds);
                        session = new FuzzSession(guest);
                    }
                }

                if (rounds % options.MemoryEvery == 0 || _inputs >= options.Inputs || (flight.Count == 0 && clock.Elapsed >= stopAt))
                {
                    peakWs = Math.Max(peakWs, Environment.WorkingSet);
                    var managed = GC.GetTotalMemory(forceFullCollection: true);
                    peakManaged = Math.Max(peakManaged, managed);
                    if (managed > options.ManagedHeapBound)
                        Record("memory", $"managed heap {managed >> 20} MiB after a full GC, bound {options.ManagedHeapBound >> 20} MiB", batch);
                }
                if (options.ReportEvery is { } every && clock.Elapsed - lastReport >= every)
                {
                    lastReport = clock.Elapsed;
                    log.WriteLine($"{clock.Elapsed:hh\\:mm\\:ss} {_inputs:N0} inputs, {_inputs / clock.Elapsed.TotalSeconds:N0}/s, {rounds:N0} rounds, " +
                                  $"{_failures.Count} distinct failures, RSS {Environment.WorkingSet >> 20} MiB");
                }
            }
        }
        finally
        {
            session.Dispose();
            guest.Dispose();
        }
        return new Summary(_inputs, rounds, replies, clock.Elapsed, peakWs, peakManaged, _failures.Values.ToList(), _quarantined.ToList());
    }

    /// <summary>
    /// Generates <paramref name="count"/> inputs and sends them as one round. Quarantined commands are
    /// skipped as they are generated; the round as a whole is checked by <see cref="FuzzSession.Send"/>
    /// (inputs can combine into a request none of them is alone: an unclosed brace, a cut string) and
    /// generated again when refused.
    /// </summary>
    private InFlight SendRound(int count, PCG pcg, RequestGenerator generator, FuzzGuest guest, FuzzSession session)
    {
        while (true)
        {
            var batch = new List<byte[]>(count);
            while (batch.Count < count)
            {
                var (bytes, command) = generator.Next();
                if (!_quarantined.Contains(command)) batch.Add(bytes);
            }
            var total = batch.Sum(b => b.Length);
            var cuts = Enumerable.Range(0, (int)pcg.Next(4)).Select(_ => (int)pcg.Next((uint)Math.Max(1, total))).ToArray();
            if (session.Send(batch, cuts, _quarantined) is { } pending) return new InFlight(batch, pending);
        }
    }

    /// <summary>Replays the inputs one by one on a fresh agent over the same fake guest; the first that gets no barrier reply is the culprit.</summary>
    private byte[]? Isolate(List<byte[]> batch, FuzzGuest guest)
    {
        using var session = new FuzzSession(guest);
        foreach (var input in batch)
        {
            var outcome = session.Round([input], [], options.HangTimeout);
            if (outcome.Failure?.StartsWith("hang", StringComparison.Ordinal) == true) return input;
        }
        return null;
    }

    private void Record(string kind, string message, IReadOnlyList<byte[]> inputs, string? key = null)
    {
        key ??= kind + ":" + Numbers().Replace(message, "N");
        if (key.Length > 160) key = key[..160];
        if (_failures.TryGetValue(key, out var known))
        {
            _failures[key] = known with { Count = known.Count + 1 };
            return;
        }
        var saved = Corpus.SaveFailure(options.CorpusDir, kind, inputs);
        _failures[key] = new Failure(kind, message, saved, 1);
        log.WriteLine($"FAILURE {kind}: {message}" + (saved is null ? "" : $" (saved as {saved})"));
    }

    private static string Show(byte[] input) =>
        input.Length > 200 ? System.Text.Encoding.Latin1.GetString(input, 0, 200) + $"... ({input.Length} bytes)" : System.Text.Encoding.Latin1.GetString(input);

    [GeneratedRegex("[0-9]+")]
    private static partial Regex Numbers();
}

/// <summary>fuzz/corpus: seeds/ (one request per line, spliced into mutations) and failures/ (inputs that failed).</summary>
public static class Corpus
{
    private static readonly byte[][] BuiltIn =
    [
        "{\"execute\":\"guest-ping\"}"u8.ToArray(),
        "{\"execute\":\"guest-sync\",\"arguments\":{\"id\":1}}"u8.ToArray(),
    ];

    /// <summary>The repository's fuzz/corpus, found from the working directory or the binary's folder upwards.</summary>
    public static string? Find()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "fuzz", "corpus");
                if (Directory.Exists(candidate)) return candidate;
            }
        }
        return null;
    }

    public static IReadOnlyList<byte[]> Seeds(string? corpusDir)
    {
        var seeds = new List<byte[]>(BuiltIn);
        if (corpusDir is null) return seeds;
        foreach (var dir in new[] { "seeds" })
        {
            var path = Path.Combine(corpusDir, dir);
            if (!Directory.Exists(path)) continue;
            foreach (var file in Directory.EnumerateFiles(path).Order())
            {
                if (file.EndsWith(".jsonl", StringComparison.Ordinal))
                    seeds.AddRange(File.ReadAllLines(file).Where(l => l.Length > 0).Select(l => System.Text.Encoding.UTF8.GetBytes(l)));
                else if (file.EndsWith(".bin", StringComparison.Ordinal) && new FileInfo(file).Length < (1 << 20))
                    seeds.Add(File.ReadAllBytes(file));
            }
        }
        return seeds;
    }

    /// <summary>Failing inputs, one after the other, in failures/&lt;kind&gt;-&lt;hash&gt;.bin (kept only below 1 MiB).</summary>
    public static string? SaveFailure(string? corpusDir, string kind, IReadOnlyList<byte[]> inputs)
    {
        if (corpusDir is null) return null;
        var data = inputs.SelectMany(i => i).ToArray();
        if (data.Length > (1 << 20)) return null;
        var name = $"{kind}-{Convert.ToHexStringLower(SHA256.HashData(data))[..12]}.bin";
        var dir = Path.Combine(corpusDir, "failures");
        Directory.CreateDirectory(dir);
        File.WriteAllBytes(Path.Combine(dir, name), data);
        return Path.Combine("failures", name);
    }
}
