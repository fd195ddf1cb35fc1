using System.Text;
using Akka.Actor;

namespace Agent.Actors.Processes;

/// <summary>
/// One run of a helper program with qemu-ga HEAD's runner semantics (qga/commands-posix.c, ga_run_command): optional stdin text,
/// stdout and stderr merged into one captured stream, and the runner's error texts for
/// <c>action</c> ("set user password", "execute fsfreeze hook", ...). Beyond qemu-ga, a helper that
/// does not finish within its timeout has its process group killed. Tells its parent one
/// <see cref="Finished"/> and stops.
/// </summary>
public sealed class HelperCommand : HelperRun
{
    /// <summary>Error is null when the helper exited 0; Signal is the one that killed it, if any.</summary>
    public sealed record Finished(string? Error, int? Signal = null);

    /// <param name="Program">The resolved path, or the bare name when it was not found on the helper path: the run
    /// then fails as qemu-ga's exec would, without a PATH search that could reach the real system's helper.</param>
    /// <param name="Action">How qemu-ga names the job in its errors.</param>
    public sealed record Spec(string Program, IReadOnlyList<string> Arguments, byte[]? Input, string Action, TimeSpan Timeout, int OutputLimit);

    private readonly Spec _spec;
    private readonly IActorRef _reaper;

    public HelperCommand(Spec spec, IActorRef reaper)
    {
        _spec = spec;
        _reaper = reaper;
    }

    protected override void PreStart()
    {
        if (!Path.IsPathRooted(_spec.Program))
        {
            OnOutcome(new HelperOutcome.NotStarted(Platform.Native.ENOENT, Platform.Native.StrError(Platform.Native.ENOENT)));
            return;
        }
        Start(new SpawnSpec(_spec.Program, _spec.Arguments,
            Input: _spec.Input,
            Stdout: OutputMode.Capture,
            Stderr: OutputMode.MergeIntoStdout,
            OutputLimit: _spec.OutputLimit,
            Timeout: _spec.Timeout), _reaper);
    }

    public static Props Props(Spec spec, IActorRef reaper) => ActorConstructor.Props(() => new HelperCommand(spec, reaper));

    protected override void OnOutcome(HelperOutcome outcome)
    {
        Context.Parent.Tell(new Finished(ErrorText(outcome), (outcome as HelperOutcome.Finished)?.Child.Signal));
        Context.Stop(Self);
    }

    private string? ErrorText(HelperOutcome outcome)
    {
        switch (outcome)
        {
            case HelperOutcome.Finished { Child: var c }:
                var output = System.Text.Encoding.UTF8.GetString(c.Stdout);
                if (c.TimedOut)
                    return $"child process has failed to {_spec.Action}: it did not finish within {_spec.Timeout.TotalSeconds:0.###}s and was killed" +
                           (output.Length > 0 ? $": {output}" : "");
                if (c.Signal is not null)
                    return output.Length > 0 ? $"child process has terminated abnormally: {output}" : "child process has terminated abnormally";
                if (c.ExitCode != 0)
                    return output.Length > 0 ? $"child process has failed to {_spec.Action}: {output}" : $"child process has failed to {_spec.Action}: exit status {c.ExitCode}";
                return null;
            case HelperOutcome.NotStarted n:
                // qemu-ga's forked child reports a failed execvp on its output and exits 1.
                return $"child process has failed to {_spec.Action}: failed to exec '{_spec.Program}': {n.Message}\n";
            case HelperOutcome.Broken b:
                return $"child process has failed to {_spec.Action}: {b.Reason}";
            default:
                throw new InvalidOperationException($"unknown helper outcome {outcome}");
        }
    }
}
