using Agent.Actors.Commands;
using Agent.Actors.Processes;
using Akka.TestKit;
using Xunit.Abstractions;

namespace Agent.Tests.Commands;

/// <summary>
/// A family's command list (what the dispatcher routes to it before the actor exists) and its actor's
/// handlers are declared apart, both by record type; this holds every family of the catalog to them agreeing.
/// </summary>
public sealed class CommandCatalogSpecs(ITestOutputHelper output) : FamilySpec(output)
{
    [Fact]
    public void Every_family_handles_exactly_the_commands_it_lists()
    {
        var settings = Guest.Settings();
        var ctx = new CommandContext(settings, Sys.ActorOf(ReaperActor.Props(settings.Processes)));
        foreach (var family in CommandCatalog.Families)
        {
            var actor = ActorOfAsTestActorRef<CommandActor>(family.Props(ctx), $"family-{family.Name}");
            var handled = actor.UnderlyingActor.HandledCommands.Order(StringComparer.Ordinal).ToArray();
            Assert.True(family.Commands.Order(StringComparer.Ordinal).SequenceEqual(handled),
                $"family '{family.Name}' lists [{string.Join(", ", family.Commands)}] but handles [{string.Join(", ", handled)}]");
            Sys.Stop(actor);
        }
    }

    [Fact]
    public void Family_names_are_distinct()
    {
        var names = CommandCatalog.Families.Select(f => f.Name).ToArray();
        Assert.Equal(names.Length, names.Distinct().Count());
    }
}
