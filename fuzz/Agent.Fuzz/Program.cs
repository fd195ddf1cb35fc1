using System.Diagnostics;
using System.Globalization;
using Agent.Fuzz;

// dotnet run --project fuzz/Agent.Fuzz -c Release -- [session|protocol] [--inputs N] [--seed S] [--jobs N] [--minutes M] [--hang-timeout SECONDS]
// (fuzz/run.sh N wraps it; fuzz/README.md explains the oracle and the corpus.)
var mode = args.FirstOrDefault(a => !a.StartsWith("--", StringComparison.Ordinal)) ?? "session";
long inputs = 10_000_000;
ulong seed = (ulong)DateTime.UtcNow.Ticks;
var hangTimeout = TimeSpan.FromSeconds(30);
var jobs = 2;
TimeSpan? stopAfter = null;
for (var i = 0; i < args.Length - 1; i++)
{
    switch (args[i])
    {
        case "--inputs": inputs = long.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--seed": seed = ulong.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--minutes": stopAfter = TimeSpan.FromMinutes(double.Parse(args[++i], CultureInfo.InvariantCulture)); break;
        case "--jobs": jobs = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--hang-timeout": hangTimeout = TimeSpan.FromSeconds(double.Parse(args[++i], CultureInfo.InvariantCulture)); break;
    }
}
var corpus = Corpus.Find();
Console.WriteLine($"mode {mode}, {inputs:N0} inputs, seed {seed}, corpus {corpus ?? "(none)"}");

if (mode == "replay")
{
    // Replays saved inputs (fuzz/corpus/failures/*.bin) on a fresh agent each and prints the verdict.
    var failed = 0;
    foreach (var file in args.Where(a => a.EndsWith(".bin", StringComparison.Ordinal)))
    {
        using var guest = new FuzzGuest();
        using var session = new FuzzSession(guest);
        var outcome = session.Round([File.ReadAllBytes(file)], [], hangTimeout, verbose: Console.Out);
        var errors = session.Errors.Drain();
        if (outcome.Failure is not null || errors.Count > 0) failed++;
        Console.WriteLine($"{file}: {outcome.Failure ?? "ok"}{string.Concat(errors.Select(e => "\n  logged: " + e))}");
    }
    return failed == 0 ? 0 : 1;
}

if (mode == "protocol")
{
    var clock = Stopwatch.StartNew();
    var (n, findings) = ProtocolFuzz.Run(inputs, seed, Corpus.Seeds(corpus));
    Console.WriteLine($"{n:N0} inputs in {clock.Elapsed.TotalSeconds:0.0}s ({n / clock.Elapsed.TotalSeconds:N0}/s), {findings.Count} invalid replies");
    foreach (var f in findings) Console.WriteLine($"  {f.Problem}\n    input: {System.Text.Encoding.Latin1.GetString(f.Input)}\n    reply: {f.Reply}");
    return findings.Count == 0 ? 0 : 1;
}

// --jobs N: N agents in this process, each with its own fake guest, seed (S, S+1, ...) and share of the inputs.
var runners = Enumerable.Range(0, jobs).Select(j => new SessionFuzz(
    new SessionFuzz.Options(inputs / jobs + (j < inputs % jobs ? 1 : 0), seed + (ulong)j, corpus, hangTimeout, ReportEvery: null, StopAfter: stopAfter), Console.Out)).ToArray();
var wall = Stopwatch.StartNew();
var running = runners.Select(r => Task.Factory.StartNew(r.Run, TaskCreationOptions.LongRunning)).ToArray();
while (!Task.WaitAll(running, TimeSpan.FromSeconds(30)))
{
    var done = runners.Sum(r => r.InputsSoFar);
    Console.WriteLine($"{wall.Elapsed:hh\\:mm\\:ss} {done:N0} inputs, {done / wall.Elapsed.TotalSeconds:N0}/s, RSS {Environment.WorkingSet >> 20} MiB");
}
var parts = running.Select(t => t.Result).ToArray();
var summary = new SessionFuzz.Summary(parts.Sum(p => p.Inputs), parts.Sum(p => p.Rounds), parts.Sum(p => p.Replies), wall.Elapsed,
    parts.Max(p => p.PeakWorkingSet), parts.Max(p => p.PeakManagedAfterGc), parts.SelectMany(p => p.Failures).ToList(),
    parts.SelectMany(p => p.Quarantined).Distinct().ToList());
Console.WriteLine($"{summary.Inputs:N0} inputs in {summary.Rounds:N0} rounds, {summary.Replies:N0} replies, {summary.Elapsed:hh\\:mm\\:ss} " +
                  $"({summary.Inputs / summary.Elapsed.TotalSeconds:N0} inputs/s, {jobs} jobs); peak RSS {summary.PeakWorkingSet >> 20} MiB, " +
                  $"peak managed heap after GC {summary.PeakManagedAfterGc >> 20} MiB; {summary.Failures.Count} distinct failures");
if (summary.Quarantined.Count > 0) Console.WriteLine($"quarantined after repeated hangs: {string.Join(", ", summary.Quarantined)}");
foreach (var f in summary.Failures)
    Console.WriteLine($"  [{f.Kind}] x{f.Count} {f.Message}{(f.SavedAs is null ? "" : $" -> {f.SavedAs}")}");
return summary.Failures.Count == 0 ? 0 : 1;
