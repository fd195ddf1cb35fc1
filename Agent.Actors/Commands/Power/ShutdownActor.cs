using Agent.Actors.Processes;
using Agent.Protocol.Json;
using Agent.Protocol.Schema;
using Akka.Actor;

namespace Agent.Actors.Commands.Power;

/// <summary>
/// guest-shutdown with qemu-ga HEAD (≥ 10.2) semantics: run poweroff, halt or reboot when the helper
/// path has it, else <c>shutdown -h -P|-H|-r +0 "hypervisor initiated shutdown"</c>, through the helper
/// runner's rules (§6.6: stdout and stderr merged into the error text). Success answers
/// CommandSucceeded and the dispatcher sends nothing: the host learns from the VM going down.
/// </summary>
public sealed class ShutdownActor : ReceiveActor
{
    public const string Command = "guest-shutdown";
    public const string InvalidMode = "mode is invalid (valid values are: halt|powerdown|reboot";

    private sealed record Pending(long Seq, IActorRef ReplyTo);

    private readonly PowerContext _ctx;
    private readonly Dictionary<IActorRef, Pending> _pending = new();

    public ShutdownActor(PowerContext ctx)
    {
        _ctx = ctx;
        Receive<Execute>(OnExecute);
        Receive<ChildStarted>(_ => { });
        Receive<ChildCompleted>(c => Answer(Sender, Outcome(c)));
        Receive<ChildSpawnFailed>(f => Answer(Sender, ExecFailed(f.CommandLine.Split(' ')[0], f.Message)));
        Receive<ChildLost>(l => Answer(Sender, $"failed to wait for child (pid: {l.Pid})"));
        Receive<Terminated>(t => Answer(t.ActorRef, "child process has terminated abnormally"));
    }

    public static Props Props(PowerContext ctx) => Akka.Actor.Props.Create(() => new ShutdownActor(ctx));

    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(_ => Directive.Stop);

    private void OnExecute(Execute e)
    {
        var (program, flag) = e.Arguments.OptString("mode") switch
        {
            null or "powerdown" => ("poweroff", "-P"),
            "halt" => ("halt", "-H"),
            "reboot" => ("reboot", "-r"),
            _ => (null, null),
        };
        if (program is null)
        {
            Sender.Tell(CommandFailed.Generic(e.Seq, InvalidMode));
            return;
        }

        SpawnSpec spec;
        if (_ctx.Helpers.Find(program) is { } direct) spec = Helper(direct, []);
        else if (_ctx.Helpers.Find("shutdown") is { } shutdown)
            spec = Helper(shutdown, ["-h", flag!, "+0", "hypervisor initiated shutdown"]);
        else
        {
            // qemu-ga would exec /sbin/shutdown and its child would report the failed exec.
            Sender.Tell(CommandFailed.Generic(e.Seq, ExecFailed("shutdown", Platform.Native.StrError(Platform.Native.ENOENT))));
            return;
        }
        var child = Context.ActorOf(ChildProcess.Props(spec, _ctx.Reaper), $"shutdown-{e.Seq}");
        Context.Watch(child);
        _pending[child] = new Pending(e.Seq, Sender);
    }

    private SpawnSpec Helper(string path, string[] args) => new(path, args,
        Stdout: OutputMode.Capture, Stderr: OutputMode.MergeIntoStdout,
        OutputLimit: _ctx.Processes.HelperOutputLimit, Timeout: _ctx.Power.ShutdownTimeout);

    /// <summary>The runner's texts (§6.6); the output keeps its trailing newline, as qemu-ga's does.</summary>
    private static string? Outcome(ChildCompleted c)
    {
        var output = System.Text.Encoding.UTF8.GetString(c.Stdout);
        if (c.Signal is not null)
            return output.Length > 0 ? $"child process has terminated abnormally: {output}" : "child process has terminated abnormally";
        if (c.ExitCode != 0)
            return output.Length > 0 ? $"child process has failed to shutdown: {output}" : $"child process has failed to shutdown: exit status {c.ExitCode}";
        return null;
    }

    private static string ExecFailed(string argv0, string message) =>
        $"child process has failed to shutdown: failed to exec '{argv0}': {message}\n";

    private void Answer(IActorRef child, string? error)
    {
        if (!_pending.Remove(child, out var p)) return;
        Context.Unwatch(child);
        p.ReplyTo.Tell(error is null ? new CommandSucceeded(p.Seq, JsonObject.Empty) : CommandFailed.Generic(p.Seq, error));
    }
}
