using System.Globalization;
using System.Text;

namespace Agent.Actors.Audit;

/// <summary>
/// One syslog message as syslog(3) writes it to /dev/log (the classic BSD form without the host
/// name, which the local daemon adds): "&lt;PRI&gt;Mmm dd hh:mm:ss TAG[PID]: MESSAGE". rsyslog, syslog-ng and
/// journald's /dev/log all read this form.
/// </summary>
public static class SyslogDatagram
{
    public const int SeverityInfo = 6;

    /// <summary>Facility names as syslog.conf spells them, with their codes.</summary>
    public static readonly IReadOnlyDictionary<string, int> Facilities = new Dictionary<string, int>(StringComparer.Ordinal)
    {
        ["kern"] = 0, ["user"] = 1, ["mail"] = 2, ["daemon"] = 3, ["auth"] = 4, ["syslog"] = 5,
        ["lpr"] = 6, ["news"] = 7, ["uucp"] = 8, ["cron"] = 9, ["authpriv"] = 10, ["ftp"] = 11,
        ["local0"] = 16, ["local1"] = 17, ["local2"] = 18, ["local3"] = 19,
        ["local4"] = 20, ["local5"] = 21, ["local6"] = 22, ["local7"] = 23,
    };

    /// <param name="localTime">The guest's local time, as syslog(3) stamps it.</param>
    public static byte[] Format(int facility, int severity, DateTime localTime, string tag, int pid, string message)
    {
        // "Dec  5 08:40:49": the day is padded with a space, as strftime's %e does.
        var stamp = localTime.ToString("MMM ", CultureInfo.InvariantCulture) +
                    localTime.Day.ToString(CultureInfo.InvariantCulture).PadLeft(2) +
                    localTime.ToString(" HH:mm:ss", CultureInfo.InvariantCulture);
        return Encoding.UTF8.GetBytes($"<{facility * 8 + severity}>{stamp} {tag}[{pid}]: {message}");
    }
}
