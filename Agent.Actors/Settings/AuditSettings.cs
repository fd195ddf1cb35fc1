using Agent.Actors.Audit;
using Akka.Configuration;

namespace Agent.Actors.Settings;

/// <summary>agent.audit: where the audit trail goes (see <see cref="AuditActor"/>).</summary>
/// <param name="Socket">The local syslog datagram socket.</param>
/// <param name="Facility">The syslog facility code.</param>
/// <param name="Tag">The program name in each syslog line.</param>
/// <param name="MaxHeld">Records kept while frozen, written at thaw.</param>
/// <param name="FallbackQueue">Records waiting for stderr when syslog cannot take them.</param>
public sealed record AuditSettings(string Socket, int Facility, string Tag, int MaxHeld, int FallbackQueue)
{
    public static AuditSettings Create(Config c)
    {
        var facility = c.GetString("facility");
        if (!SyslogDatagram.Facilities.TryGetValue(facility, out var code))
            throw new ConfigurationException($"agent.audit.facility: unknown syslog facility '{facility}'");
        return new AuditSettings(c.GetString("socket"), code, c.GetString("tag"), c.GetInt("max-held"), c.GetInt("fallback-queue"));
    }
}
