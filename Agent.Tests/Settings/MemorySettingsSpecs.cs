using Agent.Actors.Settings;
using Akka.Configuration;

namespace Agent.Tests.Settings;

public class MemorySettingsSpecs
{
    [Fact]
    public void Defaults_come_from_reference_conf()
    {
        var settings = AgentSettings.Create(ConfigurationFactory.Empty);
        Assert.Equal(32L << 20, settings.Memory.ReclaimAfter);
        Assert.Equal(TimeSpan.FromSeconds(2), settings.Memory.CheckInterval);
        Assert.Equal(TimeSpan.FromSeconds(1), settings.Memory.AfterStart);
        Assert.True(settings.Memory.ReleaseBinaryPages);
    }

    [Fact]
    public void An_operator_can_turn_reclaiming_off_or_retune_it()
    {
        var settings = AgentSettings.Create(ConfigurationFactory.ParseString("agent.memory { reclaim-after = 0, check-interval = 500ms, after-start = 0, release-binary-pages = off }"));
        Assert.Equal(0, settings.Memory.ReclaimAfter);
        Assert.Equal(TimeSpan.FromMilliseconds(500), settings.Memory.CheckInterval);
        Assert.Equal(TimeSpan.Zero, settings.Memory.AfterStart);
        Assert.False(settings.Memory.ReleaseBinaryPages);
    }
}
