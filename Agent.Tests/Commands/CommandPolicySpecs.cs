using Agent.Actors.Commands;
using Agent.Protocol.Schema;

namespace Agent.Tests.Commands;

public sealed class CommandPolicySpecs
{
    private static readonly CommandSchema Ping = new("guest-ping", []);
    private static readonly CommandSchema Thaw = new("guest-fsfreeze-thaw", [], AllowedWhileFrozen: true);
    private static readonly CommandSchema FileOpen = new("guest-file-open", []);

    [Fact]
    public void Without_lists_every_command_is_enabled_while_thawed()
    {
        var policy = CommandPolicy.Create([], []);
        Assert.True(policy.IsEnabled(Ping, frozen: false));
        Assert.True(policy.IsEnabled(FileOpen, frozen: false));
    }

    [Fact]
    public void An_allow_list_enables_only_what_it_names()
    {
        var policy = CommandPolicy.Create(["guest-ping"], []);
        Assert.True(policy.IsEnabled(Ping, frozen: false));
        Assert.False(policy.IsEnabled(FileOpen, frozen: false));
    }

    [Fact]
    public void The_block_list_wins_over_the_allow_list()
    {
        var policy = CommandPolicy.Create(["guest-ping", "guest-file-open"], ["guest-file-open"]);
        Assert.True(policy.IsEnabled(Ping, frozen: false));
        Assert.False(policy.IsEnabled(FileOpen, frozen: false));
    }

    [Fact]
    public void Unknown_names_in_the_lists_change_nothing_else()
    {
        var policy = CommandPolicy.Create([], ["guest-no-such-command"]);
        Assert.True(policy.IsEnabled(Ping, frozen: false));
        Assert.True(policy.IsEnabled(FileOpen, frozen: false));
    }

    [Fact]
    public void While_frozen_only_the_freeze_allow_list_runs_whatever_the_lists_say()
    {
        var policy = CommandPolicy.Create(["guest-ping"], ["guest-fsfreeze-thaw"]);
        Assert.True(policy.IsEnabled(Thaw, frozen: true));
        Assert.False(policy.IsEnabled(Ping, frozen: true));
        Assert.False(policy.IsEnabled(FileOpen, frozen: true));
    }

    [Fact]
    public void The_standard_schema_allows_qemu_gas_commands_while_frozen()
    {
        // qga/main.c, ga_command_is_allowed_while_frozen: the freeze family's queries, ping, info and sync.
        var policy = CommandPolicy.Create([], []);
        var whileFrozen = QgaSchema.Commands.Where(c => policy.IsEnabled(c, frozen: true)).Select(c => c.Name).ToHashSet();
        Assert.Contains("guest-fsfreeze-thaw", whileFrozen);
        Assert.Contains("guest-fsfreeze-status", whileFrozen);
        Assert.Contains("guest-ping", whileFrozen);
        Assert.DoesNotContain("guest-file-open", whileFrozen);
        Assert.DoesNotContain("guest-exec", whileFrozen);
    }
}
