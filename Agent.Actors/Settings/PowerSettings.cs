using Akka.Configuration;

namespace Agent.Actors.Settings;

/// <summary>A way to suspend, in the order <c>agent.suspend.strategies</c> lists them.</summary>
public enum SuspendStrategy { Systemd, PmUtils, Sysfs }

/// <summary>strict checks what the kernel offers and explains refusals; qemu reproduces qemu-ga HEAD.</summary>
public enum ProbeMode { Strict, Qemu }

/// <summary><c>agent.suspend</c> and <c>agent.shutdown</c>.</summary>
public sealed record PowerSettings(
    IReadOnlyList<SuspendStrategy> Strategies,
    ProbeMode Probe,
    TimeSpan ProbeTimeout,
    TimeSpan ExecuteTimeout,
    TimeSpan ShutdownTimeout,
    TimeSpan ShutdownTerminatedGrace)
{
    /// <param name="agent">The <c>agent</c> section.</param>
    public static PowerSettings Create(Config agent)
    {
        var s = agent.GetConfig("suspend");
        return new PowerSettings(
            s.GetStringList("strategies").Select(ParseStrategy).Distinct().ToArray(),
            s.GetString("probe") switch
            {
                "strict" => ProbeMode.Strict,
                "qemu" => ProbeMode.Qemu,
                var other => throw new ConfigurationException($"agent.suspend.probe: unknown value '{other}' (strict | qemu)"),
            },
            s.GetTimeSpan("probe-timeout"),
            s.GetTimeSpan("execute-timeout"),
            agent.GetConfig("shutdown").GetTimeSpan("timeout"),
            agent.GetConfig("shutdown").GetTimeSpan("terminated-grace"));
    }

    private static SuspendStrategy ParseStrategy(string name) => name switch
    {
        "systemd" => SuspendStrategy.Systemd,
        "pm-utils" => SuspendStrategy.PmUtils,
        "sysfs" => SuspendStrategy.Sysfs,
        _ => throw new ConfigurationException($"agent.suspend.strategies: unknown strategy '{name}' (systemd | pm-utils | sysfs)"),
    };
}
