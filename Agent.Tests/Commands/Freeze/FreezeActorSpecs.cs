using Agent.Actors.Platform;
using Agent.Protocol.Json;
using Agent.Protocol.Schema;
using Xunit.Abstractions;
using Agent.Tests.Fakes;

namespace Agent.Tests.Commands.Freeze;

public sealed class FreezeActorSpecs(ITestOutputHelper output) : FreezeSpecBase(output)
{
    [Fact]
    public async Task Freeze_walks_the_mounts_innermost_first_and_sets_the_frozen_state_before_the_first_ioctl()
    {
        var family = Family();
        var stateAtFirstFreeze = (bool?)null;
        Filesystems.OnFreeze = _ => stateAtFirstFreeze ??= State.Frozen && File.Exists(Marker);

        Assert.Equal(new JsonInt(4), await Succeeds(family, "guest-fsfreeze-freeze"));

        Assert.Equal(Innermost.Select(d => $"freeze {d}"), Filesystems.Calls);
        Assert.True(stateAtFirstFreeze);
        await ExpectFrozenState(true);
        Assert.Equal("frozen", await Status(family));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Marker));
        Assert.Equal(0, new FileInfo(Marker).Length);
    }

    [Fact]
    public async Task Thaw_repeats_FITHAW_until_it_fails_counts_each_mount_once_and_clears_the_state()
    {
        var family = Family();
        await Succeeds(family, "guest-fsfreeze-freeze");
        await ExpectFrozenState(true);
        Filesystems.Preset("/data", 3); // frozen three times over, e.g. by another tool too

        Assert.Equal(new JsonInt(4), await Succeeds(family, "guest-fsfreeze-thaw"));

        Assert.False(Filesystems.AnyFrozen);
        Assert.Equal(4, Filesystems.Calls.Count(c => c == "thaw /data"));
        await ExpectFrozenState(false);
        Assert.False(File.Exists(Marker));
        Assert.False(State.Frozen);
        Assert.Equal("thawed", await Status(family));
    }

    [Fact]
    public async Task Thaw_with_nothing_frozen_returns_zero()
    {
        var family = Family();
        Assert.Equal(new JsonInt(0), await Succeeds(family, "guest-fsfreeze-thaw"));
        Assert.Equal("thawed", await Status(family));
    }

    [Fact]
    public async Task Filesystems_that_cannot_freeze_or_are_already_frozen_are_skipped_and_not_counted()
    {
        var family = Family();
        Filesystems.FreezeFailures["/boot"] = new MountCall(false, FakeFilesystems.EOPNOTSUPP);
        Filesystems.FreezeFailures["/data"] = new MountCall(false, FakeFilesystems.EBUSY);

        Assert.Equal(new JsonInt(2), await Succeeds(family, "guest-fsfreeze-freeze"));
        Assert.Equal("frozen", await Status(family));
    }

    [Fact]
    public async Task Freeze_list_freezes_only_the_named_mountpoints_matching_exactly()
    {
        var family = Family();
        var answer = await Succeeds(family, "guest-fsfreeze-freeze-list",
            Args(("mountpoints", Strings("/", "/data/", "/mnt/with space", "/nowhere"))));

        Assert.Equal(new JsonInt(2), answer);
        Assert.Equal(["freeze /mnt/with space", "freeze /"], Filesystems.Calls);
    }

    [Fact]
    public async Task A_freeze_that_froze_nothing_leaves_the_agent_thawed()
    {
        var family = Family();
        Assert.Equal(new JsonInt(0), await Succeeds(family, "guest-fsfreeze-freeze-list", Args(("mountpoints", Strings("/nowhere")))));

        await ExpectFrozenState(true);
        await ExpectFrozenState(false);
        Assert.False(File.Exists(Marker));
        Assert.Equal("thawed", await Status(family));
    }

    [Fact]
    public async Task A_failed_freeze_thaws_everything_runs_the_thaw_hook_and_reports_the_error()
    {
        HookScript();
        var family = Family($"hook = \"{Hook}\"");
        Filesystems.FreezeFailures["/boot"] = new MountCall(false, FakeFilesystems.EIO);

        Assert.Equal("failed to freeze /boot: Input/output error", await Fails(family, "guest-fsfreeze-freeze"));

        Assert.False(Filesystems.AnyFrozen);
        Assert.Equal(["fsfreeze-hook freeze", "fsfreeze-hook thaw"], Guest.Calls());
        Assert.False(File.Exists(Marker));
        Assert.Equal("thawed", await Status(family));
    }

    [Fact]
    public async Task A_mount_that_cannot_be_opened_fails_the_freeze_with_qemus_text()
    {
        var family = Family();
        Filesystems.FreezeFailures["/data"] = new MountCall(true, FakeFilesystems.EACCES);

        Assert.Equal("failed to open /data: Permission denied", await Fails(family, "guest-fsfreeze-freeze"));
        Assert.False(Filesystems.AnyFrozen);
    }

    [Fact]
    public async Task The_hook_runs_with_freeze_before_any_ioctl_and_with_thaw_after_the_last()
    {
        HookScript();
        var family = Family($"hook = \"{Hook}\"");
        var hookCallsAtFirstFreeze = (int?)null;
        Filesystems.OnFreeze = _ => hookCallsAtFirstFreeze ??= Guest.Calls().Count;

        await Succeeds(family, "guest-fsfreeze-freeze");
        Assert.Equal(1, hookCallsAtFirstFreeze);
        Assert.Equal(["fsfreeze-hook freeze"], Guest.Calls());

        await Succeeds(family, "guest-fsfreeze-thaw");
        Assert.Equal(["fsfreeze-hook freeze", "fsfreeze-hook thaw"], Guest.Calls());
        Assert.False(Filesystems.AnyFrozen);
    }

    [Fact]
    public async Task A_failing_freeze_hook_aborts_the_freeze_with_its_output()
    {
        HookScript("echo 'database refused to quiesce'; exit 2");
        var family = Family($"hook = \"{Hook}\"");

        Assert.Equal("child process has failed to execute fsfreeze hook: database refused to quiesce\n",
            await Fails(family, "guest-fsfreeze-freeze"));
        Assert.Empty(Filesystems.Calls);
        Assert.False(File.Exists(Marker));
        Assert.Equal("thawed", await Status(family));
    }

    [Fact]
    public async Task A_failing_thaw_hook_is_reported_after_the_filesystems_are_thawed()
    {
        HookScript("[ \"$1\" = thaw ] && exit 3; exit 0");
        var family = Family($"hook = \"{Hook}\"");
        await Succeeds(family, "guest-fsfreeze-freeze");

        Assert.Equal("child process has failed to execute fsfreeze hook: exit status 3", await Fails(family, "guest-fsfreeze-thaw"));
        Assert.False(Filesystems.AnyFrozen);
        Assert.Equal("thawed", await Status(family));
    }

    [Fact]
    public async Task A_missing_hook_fails_the_freeze_as_qemus_exec_would()
    {
        var family = Family($"hook = \"{Guest.Root}/no-such-hook\"");
        Assert.Equal($"child process has failed to execute fsfreeze hook: failed to exec '{Guest.Root}/no-such-hook': No such file or directory\n",
            await Fails(family, "guest-fsfreeze-freeze"));
        Assert.Empty(Filesystems.Calls);
    }

    [Fact]
    public async Task A_hanging_hook_is_killed_at_its_timeout_and_nothing_is_frozen()
    {
        HookScript("sleep 600");
        var family = Family($"hook = \"{Hook}\", hook-timeout = 30s");
        family.Tell(new Actors.Commands.Execute(1, "guest-fsfreeze-freeze", JsonObject.Empty), TestActor);
        await AwaitConditionAsync(() => Task.FromResult(Guest.Calls().Contains("fsfreeze-hook freeze")), Patience);

        Clock.Advance(TimeSpan.FromSeconds(29));
        await ExpectNoMsgAsync(TimeSpan.FromMilliseconds(300));
        Clock.Advance(TimeSpan.FromSeconds(1));

        var failed = Assert.IsType<Actors.Commands.CommandFailed>(await ExpectMsgAsync<object>(Patience));
        Assert.Equal("child process has failed to execute fsfreeze hook: it did not finish within 30s and was killed", failed.Error.Desc);
        Assert.Empty(Filesystems.Calls);
        Assert.Equal("thawed", await Status(family));
    }

    [Fact]
    public async Task Auto_thaw_thaws_when_no_thaw_came_in_time()
    {
        HookScript();
        var family = Family($"hook = \"{Hook}\", auto-thaw = 60s");
        await Succeeds(family, "guest-fsfreeze-freeze");
        await ExpectFrozenState(true);

        Clock.Advance(TimeSpan.FromSeconds(59));
        Assert.Equal("frozen", await Status(family));
        Assert.True(Filesystems.AnyFrozen);

        Clock.Advance(TimeSpan.FromSeconds(1));
        await ExpectFrozenState(false);
        await AwaitConditionAsync(() => Task.FromResult(Guest.Calls().Contains("fsfreeze-hook thaw")), Patience);
        Assert.False(Filesystems.AnyFrozen);
        Assert.False(File.Exists(Marker));
        Assert.Equal("thawed", await Status(family));
    }

    [Fact]
    public async Task A_thaw_arriving_during_an_auto_thaw_waits_for_it_and_runs_its_own_hook()
    {
        var go = Path.Combine(Guest.Root, "go");
        HookScript($"[ \"$1\" = thaw ] && while [ ! -f '{go}' ]; do sleep 0.05; done; exit 0");
        var family = Family($"hook = \"{Hook}\", auto-thaw = 60s");
        await Succeeds(family, "guest-fsfreeze-freeze");
        await ExpectFrozenState(true);

        Clock.Advance(TimeSpan.FromSeconds(60));
        await ExpectFrozenState(false); // filesystems thawed; the auto-thaw's hook is still running
        await AwaitConditionAsync(() => Task.FromResult(Guest.Calls().Contains("fsfreeze-hook thaw")), Patience);
        family.Tell(new Actors.Commands.Execute(100, "guest-fsfreeze-thaw", JsonObject.Empty), TestActor);
        Assert.Equal("thawed", await Status(family));
        await ExpectNoMsgAsync(TimeSpan.FromMilliseconds(300));

        File.WriteAllText(go, "");
        var thawed = Assert.IsType<Actors.Commands.CommandSucceeded>(await ExpectMsgAsync<object>(Patience));
        Assert.Equal(100, thawed.Seq);
        Assert.Equal(new JsonInt(0), thawed.Value);
        Assert.Equal(["fsfreeze-hook freeze", "fsfreeze-hook thaw", "fsfreeze-hook thaw"], Guest.Calls());
    }

    [Fact]
    public async Task An_auto_thaw_that_cannot_read_the_mount_table_tries_again()
    {
        var family = Family("auto-thaw = 60s");
        await Succeeds(family, "guest-fsfreeze-freeze");
        await ExpectFrozenState(true);
        var mountinfo = Path.Combine(Guest.Root, "proc", "self", "mountinfo");
        File.Move(mountinfo, mountinfo + ".away");

        Clock.Advance(TimeSpan.FromSeconds(60));
        Assert.Equal("frozen", await Status(family));

        File.Move(mountinfo + ".away", mountinfo);
        Clock.Advance(TimeSpan.FromSeconds(60));
        await ExpectFrozenState(false);
        Assert.False(Filesystems.AnyFrozen);
    }

    [Fact]
    public async Task A_thaw_in_time_cancels_the_auto_thaw()
    {
        var family = Family("auto-thaw = 60s");
        await Succeeds(family, "guest-fsfreeze-freeze");
        Clock.Advance(TimeSpan.FromSeconds(30));
        await Succeeds(family, "guest-fsfreeze-thaw");
        await Succeeds(family, "guest-fsfreeze-freeze-list", Args(("mountpoints", Strings("/data"))));
        var callsBefore = Filesystems.Calls.Count;

        Clock.Advance(TimeSpan.FromSeconds(30)); // the first freeze's deadline: must not thaw the second freeze
        Assert.Equal("frozen", await Status(family));
        Assert.Equal(callsBefore, Filesystems.Calls.Count);

        Clock.Advance(TimeSpan.FromSeconds(30)); // the second freeze's own deadline
        await AwaitConditionAsync(() => Task.FromResult(!Filesystems.AnyFrozen), Patience);
    }

    [Fact]
    public async Task The_per_call_argument_overrides_the_configured_auto_thaw()
    {
        var family = Family("auto-thaw = 0s");
        await Succeeds(family, "guest-fsfreeze-freeze", Args((ExtensionSchema.AutoThawArgument, new JsonInt(10))));
        await ExpectFrozenState(true);

        Clock.Advance(TimeSpan.FromSeconds(10));
        await ExpectFrozenState(false);
        Assert.False(Filesystems.AnyFrozen);
    }

    [Fact]
    public async Task Without_auto_thaw_the_guest_stays_frozen_until_told()
    {
        var family = Family();
        await Succeeds(family, "guest-fsfreeze-freeze");
        Clock.Advance(TimeSpan.FromDays(1));
        Assert.Equal("frozen", await Status(family));
        Assert.True(Filesystems.AnyFrozen);
    }

    [Fact]
    public async Task A_negative_auto_thaw_argument_is_refused_before_anything_happens()
    {
        var family = Family();
        Assert.Equal($"Parameter '{ExtensionSchema.AutoThawArgument}' expects a number of seconds from 0 to 31536000",
            await Fails(family, "guest-fsfreeze-freeze", Args((ExtensionSchema.AutoThawArgument, new JsonInt(-1)))));
        Assert.Empty(Filesystems.Calls);
    }

    [Fact]
    public async Task An_agent_started_frozen_reports_frozen_and_thaws_on_request()
    {
        File.WriteAllText(Marker, "");
        foreach (var dir in Innermost) Filesystems.Preset(dir, 1);
        var family = Family(startFrozen: true);

        Assert.Equal("frozen", await Status(family));
        Assert.Equal(new JsonInt(4), await Succeeds(family, "guest-fsfreeze-thaw"));
        await ExpectFrozenState(false);
        Assert.False(File.Exists(Marker));
    }

    [Fact]
    public async Task The_configured_auto_thaw_also_covers_a_freeze_inherited_from_a_previous_instance()
    {
        File.WriteAllText(Marker, "");
        Filesystems.Preset("/data", 1);
        var family = Family("auto-thaw = 5m", startFrozen: true);
        Assert.Equal("frozen", await Status(family)); // started, timer armed

        Clock.Advance(TimeSpan.FromMinutes(5));
        await ExpectFrozenState(false);
        Assert.False(Filesystems.AnyFrozen);
        Assert.False(File.Exists(Marker));
    }

    [Fact]
    public async Task An_unreadable_mount_table_fails_the_freeze_before_the_state_changes()
    {
        File.Delete(Guest.SysPath("../proc/self/mountinfo"));
        var family = Family();
        Assert.Equal($"failed to open mtab file: '{Guest.Root}/proc/self/mounts'", await Fails(family, "guest-fsfreeze-freeze"));
        Assert.False(File.Exists(Marker));
        await FrozenChanges.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public async Task Stopping_while_frozen_thaws_the_filesystems()
    {
        var family = Family();
        await Succeeds(family, "guest-fsfreeze-freeze");
        await ExpectFrozenState(true);

        Sys.Stop(family);

        await ExpectFrozenState(false);
        Assert.False(Filesystems.AnyFrozen);
        Assert.False(File.Exists(Marker));
        Assert.False(State.Frozen);
    }
}
