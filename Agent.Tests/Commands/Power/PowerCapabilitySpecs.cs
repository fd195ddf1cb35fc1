using Agent.Actors.Commands;
using Agent.Protocol.Json;
using Agent.Protocol.Schema;
using Xunit.Abstractions;

namespace Agent.Tests.Commands.Power;

public sealed class PowerCapabilitySpecs(ITestOutputHelper output) : PowerSpecBase(output)
{
    private static string Render(JsonValue v) => v switch
    {
        JsonArray a => "[" + string.Join(", ", a.Items.Select(Render)) + "]",
        JsonObject o => "{" + string.Join(", ", o.Members.Select(m => $"{m.Key}: {Render(m.Value)}")) + "}",
        JsonString s => s.Value,
        JsonBool b => b.Value ? "true" : "false",
        _ => v.ToString()!,
    };

    private async Task<string> Capabilities(Akka.Actor.IActorRef power)
    {
        var answer = await Run(power, ExtensionSchema.PowerCapabilities.Name);
        return Render(Assert.IsType<CommandSucceeded>(answer).Value);
    }

    [Fact]
    public void The_extension_is_named_by_the_downstream_rule_and_takes_no_arguments()
    {
        Assert.StartsWith("__org.actoragent_", ExtensionSchema.PowerCapabilities.Name);
        Assert.Empty(ExtensionSchema.PowerCapabilities.Arguments);
        Assert.True(ExtensionSchema.PowerCapabilities.SuccessResponse);
        Assert.Same(ExtensionSchema.PowerCapabilities, ExtensionSchema.Find("__org.actoragent_get-power-capabilities"));
    }

    [Fact]
    public async Task It_reports_method_or_reason_per_mode_and_suspend_then_does_what_it_said()
    {
        Guest.Helper("systemctl", "[ \"$1\" = status ] && exit 3; exit 0");
        Guest.Sys("power/mem_sleep", "[s2idle]\n");
        Guest.Sys("power/disk", "[platform] shutdown reboot\n");
        var power = Power();

        Assert.Equal("[{mode: disk, supported: true, method: systemd}, " +
                     "{mode: ram, supported: false, reason: mem_sleep offers only s2idle}, " +
                     "{mode: hybrid, supported: false, reason: mem_sleep offers only s2idle}]",
            await Capabilities(power));
        // Probing executed nothing.
        Assert.DoesNotContain("systemctl hibernate", Guest.Calls());

        await Succeeds(power, "guest-suspend-disk");
        Assert.Contains("systemctl hibernate", Guest.Calls());
        Assert.Equal("the requested suspend mode is not supported by the guest: mem_sleep offers only s2idle",
            await Fails(power, "guest-suspend-ram"));
    }

    [Fact]
    public async Task Under_the_qemu_probe_it_answers_what_qemu_ga_would_try()
    {
        Guest.Helper("pm-is-supported", "[ \"$1\" = --suspend-hybrid ] && exit 0; exit 1");
        Guest.Sys("power/state", "freeze mem\n");
        Assert.Equal("[{mode: disk, supported: false, reason: pm-utils: pm-is-supported --hibernate exited with status 1; " +
                     "sysfs: /sys/power/state does not offer disk}, " +
                     "{mode: ram, supported: true, method: sysfs}, " +
                     "{mode: hybrid, supported: true, method: pm-utils}]",
            await Capabilities(Power("suspend.probe = qemu\nsuspend.strategies = [pm-utils, sysfs]")));
    }
}
