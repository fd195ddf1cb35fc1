using Akka.Actor;

namespace Agent.Actors.Channel;

/// <summary>
/// What the agent has under way off its event loop: commands the dispatcher has handed to a family that
/// runs on other threads (or that waits on a blocking-call thread), child processes from spawn until
/// their owner stops (their pipe pump, the SIGCHLD wake-up and the reaper come in that span), and work
/// queued on the .NET ThreadPool, where Akka's default dispatcher runs those families. The event loop
/// busy-polls only while there is none: on a guest with one vCPU, a spinning loop kept those threads
/// from the CPU they needed (bench/README.md, "Busy-poll off by default"). One per actor system
/// (<see cref="For"/>); the dispatcher and the process owners count, the loop only reads.
/// </summary>
/// <param name="countThreadPoolQueue">False only in specs, whose own ThreadPool work would decide for the loop.</param>
public sealed class OffLoopWork(bool countThreadPoolQueue = true) : IExtension
{
    private int _underWay;

    /// <summary>The one of <paramref name="system"/>, created at first use.</summary>
    public static OffLoopWork For(ActorSystem system) => Extension.Instance.Apply(system);

    /// <summary>Commands and child processes under way off the loop, not counting the ThreadPool's queue.</summary>
    public int UnderWay => Volatile.Read(ref _underWay);

    /// <summary>
    /// Whether nothing is under way and nothing waits on the ThreadPool: a few memory reads, no system
    /// call, so the loop asks again before every poll of its busy-poll window.
    /// </summary>
    public bool None => Volatile.Read(ref _underWay) == 0 && (!countThreadPoolQueue || ThreadPool.PendingWorkItemCount == 0);

    public void Began() => Interlocked.Increment(ref _underWay);

    public void Ended() => Interlocked.Decrement(ref _underWay);

    private sealed class Extension : ExtensionIdProvider<OffLoopWork>
    {
        public static readonly Extension Instance = new();

        public override OffLoopWork CreateExtension(ExtendedActorSystem system) => new();
    }
}
