using Agent.Actors.Commands;
using Agent.Protocol.Schema;
using Akka.Actor;

namespace Agent.Tests.Commands;

public sealed class CommandRoutesSpecs
{
    private static CommandFamily Family(string name, params string[] commands) => new(name, commands, _ => Props.Empty);

    private static readonly CommandSchema[] Schema =
    [
        new("guest-a", []),
        new("guest-b", []),
        new("guest-c", []) { DelimitedReply = true },
    ];

    [Fact]
    public void Each_command_routes_to_the_family_that_registers_it_with_its_schema()
    {
        var one = Family("one", "guest-a");
        var two = Family("two", "guest-c", "guest-b");
        var routes = CommandRoutes.Create(Schema, [one, two]);

        Assert.True(routes.TryGet("guest-b", out var b));
        Assert.Same(two, b.Family);
        Assert.Same(Schema[1], b.Schema);
        Assert.True(routes.TryGet("guest-c", out var c));
        Assert.True(c.Schema.DelimitedReply);
        Assert.False(routes.TryGet("guest-d", out _));
        Assert.Equal([one, two], routes.Families);
    }

    [Fact]
    public void Registered_commands_follow_the_schema_order_and_omit_unregistered_ones()
    {
        var routes = CommandRoutes.Create(Schema, [Family("one", "guest-c", "guest-a")]);
        Assert.Equal(["guest-a", "guest-c"], routes.Registered.Select(s => s.Name));
    }

    [Fact]
    public void A_command_without_schema_is_refused()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => CommandRoutes.Create(Schema, [Family("one", "guest-x")]));
        Assert.Equal("family 'one' registers 'guest-x', which has no schema", ex.Message);
    }

    [Fact]
    public void A_command_registered_twice_is_refused()
    {
        var ex = Assert.Throws<InvalidOperationException>(() =>
            CommandRoutes.Create(Schema, [Family("one", "guest-a"), Family("two", "guest-a")]));
        Assert.Equal("'guest-a' is registered by 'one' and 'two'", ex.Message);
    }

    [Fact]
    public void The_catalog_registers_every_command_of_the_schema_once()
    {
        var routes = CommandRoutes.Create(CommandCatalog.Families);
        var all = QgaSchema.Standard.With(ExtensionSchema.Commands).Commands.Select(c => c.Name);
        var registered = routes.Registered.Select(c => c.Name).ToHashSet();
        // Windows-only commands stay unregistered, as on a Linux qemu-ga.
        var missing = all.Where(n => !registered.Contains(n)).ToArray();
        Assert.All(missing, n => Assert.DoesNotContain(n, CommandCatalog.Families.SelectMany(f => f.Commands)));
        Assert.Contains("guest-get-time", registered);
        Assert.True(routes.TryGet("guest-sync-delimited", out var delimited) && delimited.Schema.DelimitedReply);
        Assert.True(routes.TryGet("guest-get-time", out var time) && time.Family.Name == "get-time");
        Assert.True(routes.TryGet("guest-get-load", out var load) && load.Family.Name == "load");
    }
}
