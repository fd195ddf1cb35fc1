using Agent.Fuzz;
using Xunit.Abstractions;

namespace Agent.Tests.Fuzz;

/// <summary>
/// CI's short run of the fuzz harness (fuzz/README.md): the real actor tree and families over a fake
/// guest, a fixed seed, a few thousand inputs; then every input in fuzz/corpus/failures replayed alone.
/// The oracle is the harness': valid JSON, one reply per item in order, no hang, nothing logged at error
/// level, the managed heap bounded.
/// </summary>
public sealed class FuzzSmokeSpecs(ITestOutputHelper output)
{
    [Fact]
    public void A_short_seeded_run_finds_nothing()
    {
        var log = new StringWriter();
        var summary = new SessionFuzz(new SessionFuzz.Options(3_000, Seed: 20261205, CorpusDir: null, HangTimeout: TimeSpan.FromSeconds(60), MaxBatch: 64), log).Run();
        output.WriteLine(log.ToString());
        Assert.Equal(3_000, summary.Inputs);
        Assert.True(summary.Replies >= summary.Rounds, "every round ends with the barrier's reply");
        Assert.True(summary.Failures.Count == 0, string.Join("\n", summary.Failures.Select(f => $"[{f.Kind}] x{f.Count} {f.Message}")));
    }

    /// <summary>
    /// The inputs the harness found wedging or crashing the agent (fuzz/corpus/failures). Each must now
    /// get its replies and leave nothing logged at error level.
    /// </summary>
    [Fact]
    public void Every_recorded_failure_is_answered_now()
    {
        var corpus = Corpus.Find();
        Assert.NotNull(corpus);
        var files = Directory.GetFiles(Path.Combine(corpus!, "failures"), "*.bin").Order().ToArray();
        Assert.NotEmpty(files);
        var problems = new List<string>();
        foreach (var file in files)
        {
            using var guest = new FuzzGuest();
            using var session = new FuzzSession(guest);
            var outcome = session.Round([File.ReadAllBytes(file)], [], TimeSpan.FromSeconds(30));
            var errors = session.Errors.Drain();
            if (outcome.Failure is not null || errors.Count > 0)
                problems.Add($"{Path.GetFileName(file)}: {outcome.Failure ?? "answered"}; {string.Join("; ", errors)}");
        }
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }
}
