namespace Agent.Actors;

/// <summary>
/// Props that create their actor through a plain delegate. <c>Props.Create(() =&gt; new A(x))</c> builds
/// an expression tree at every call and creates the actor by reflection over the arguments it reads
/// back out of that tree, which under NativeAOT cost ~1.5 ms of a start's CPU for the actors created at
/// start (bench/README.md, "Start-up share"). Every Props factory of the agent uses this: a family's first
/// request paid the same, and the expression types instantiated per actor were module data every start
/// rehydrates (bench/README.md, "Start-up share, round 4").
/// </summary>
public sealed class ActorConstructor<TActor>(Func<TActor> create) : IIndirectActorProducer where TActor : ActorBase
{
    public Type ActorType => typeof(TActor);

    public ActorBase Produce() => create();

    public void Release(ActorBase actor) { }
}

public static class ActorConstructor
{
    /// <summary>Props whose every incarnation (a restart included) is a fresh <paramref name="create"/>().</summary>
    public static Props Props<TActor>(Func<TActor> create) where TActor : ActorBase =>
        Akka.Actor.Props.CreateBy(new ActorConstructor<TActor>(create));
}
