using Agent.Actors.Audit;
using Agent.Actors.Channel;
using Agent.Actors.Commands;
using Agent.Actors.Dispatch;
using Agent.Actors.Processes;
using Agent.Actors.Settings;
using Agent.Actors.State;
using Akka.Actor;

namespace Agent.Actors;

/// <summary>
/// /user/agent: the root of the agent's tree. Starts the reaper, the audit trail, the dispatcher (with
/// the command families), the channel and the memory reclaimer.
/// </summary>
public sealed class AgentSupervisor : UntypedActor
{
    /// <summary>Why the agent stops itself, and the process exit status that goes with it.</summary>
    public sealed class ExitReason(int exitCode, string description) : CoordinatedShutdown.Reason
    {
        public override int ExitCode { get; } = exitCode;
        public override string ToString() => description;
    }

    public AgentSupervisor(AgentSettings settings, Func<ITransport> openTransport, IReadOnlyList<CommandFamily> families, FreezeState freeze)
    {
        var reaper = Context.ActorOf(ReaperActor.Props(settings.Processes), "reaper");
        var audit = Context.ActorOf(AuditActor.Props(settings.Audit, freeze), "audit");
        var context = new CommandContext(settings, reaper) { Freeze = freeze, Audit = audit };
        var dispatcher = Context.ActorOf(Dispatcher.Props(context, CommandRoutes.Create(families)), "dispatcher");
        Context.ActorOf(ChannelActor.Props(settings.Channel, openTransport, dispatcher), "channel");
        Context.ActorOf(Memory.MemoryReclaimer.Props(settings.Memory), "memory");
    }

    /// <summary>The supervisor only supervises; nothing is sent to it.</summary>
    protected override void OnReceive(object message) => Unhandled(message);

    /// <summary>
    /// Resume, never restart: a restart would drop the reaper's watched pids and rebuild every command
    /// family (open file handles, exec results). A failing message is logged and skipped.
    /// </summary>
    protected override SupervisorStrategy SupervisorStrategy() =>
        new OneForOneStrategy(Decider.From(Directive.Resume));

    public static Props Props(AgentSettings settings, Func<ITransport> openTransport, IReadOnlyList<CommandFamily> families, FreezeState? freeze = null) =>
        ActorConstructor.Props(() => new AgentSupervisor(settings, openTransport, families, freeze ?? new FreezeState(false)));

    /// <param name="freeze">The host's frozen state (frozen already when the marker survived a previous instance).</param>
    public static Props Props(AgentSettings settings, FreezeState freeze) =>
        Props(settings, Transports.Factory(settings.Channel), CommandCatalog.Families, freeze);
}
