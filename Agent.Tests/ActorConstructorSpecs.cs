using Agent.Actors;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using Xunit.Abstractions;

namespace Agent.Tests;

/// <summary>
/// Props through <see cref="ActorConstructor"/> (every actor of the agent): the actor is what the
/// delegate builds, and a supervisor's restart builds a fresh one with the same arguments.
/// </summary>
public sealed class ActorConstructorSpecs(ITestOutputHelper output) : TestKit(output: output)
{
    private sealed class Counted : UntypedActor
    {
        private readonly string _name;
        private readonly int _incarnation;

        public Counted(string name, IActorRef probe)
        {
            _name = name;
            _incarnation = Interlocked.Increment(ref Incarnations);
            probe.Tell($"{name} #{_incarnation}");
        }

        public static int Incarnations;

        protected override void OnReceive(object message)
        {
            if (message is "fail") throw new InvalidOperationException("failing on purpose");
            Sender.Tell($"{_name} #{_incarnation}: {message}");
        }
    }

    [Fact]
    public void The_actor_is_built_by_the_delegate_and_rebuilt_on_restart()
    {
        Counted.Incarnations = 0;
        var props = ActorConstructor.Props(() => new Counted("reaper", TestActor));
        Assert.Equal(typeof(Counted), props.Type);

        var actor = Sys.ActorOf(props, "counted");
        ExpectMsg("reaper #1");
        actor.Tell("ping");
        ExpectMsg("reaper #1: ping");

        actor.Tell("fail"); // the user guardian's default strategy restarts it
        ExpectMsg("reaper #2");
        actor.Tell("ping");
        ExpectMsg("reaper #2: ping");
    }
}
