using System.Globalization;
using Agent.Actors.Platform;
using Agent.Actors.Settings;

namespace Agent.Actors.Commands.System;

/// <summary>guest-get-cpustats and guest-get-load: how busy the guest is, from &lt;procfs&gt;.</summary>
public sealed class LoadActor : CommandActor
{
    public static readonly CommandFamily Family = CommandFamily.Of<GuestGetCpustatsArguments, GuestGetLoadArguments>("load", ctx => Props(ctx.Settings, LinuxKernel.Instance));

    public static Props Props(AgentSettings settings, IKernel kernel) =>
        ActorConstructor.Props(() => new LoadActor(settings, kernel));

    private readonly AgentSettings _settings;
    private readonly IKernel _kernel;

    public LoadActor(AgentSettings settings, IKernel kernel)
    {
        _settings = settings;
        _kernel = kernel;
        Handle<GuestGetCpustatsArguments>(_ => CpuStats());
        Handle<GuestGetLoadArguments>(_ => Load());
    }

    private static readonly string[] CpuColumns = ["user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal", "guest", "guestnice"];

    /// <summary>
    /// The per-cpu lines of &lt;procfs&gt;/stat ("cpuN ..."; the aggregate line is skipped), in ms.
    /// Columns beyond idle appear as the kernel provides them: iowait, then irq with softirq, steal, guest, guestnice.
    /// </summary>
    private JsonValue CpuStats()
    {
        var path = GuestFiles.Under(_settings.Paths.Procfs, "/stat");
        string[] lines;
        try { lines = GuestFiles.ReadLines(path); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CommandException($"open(\"{path}\"): {GuestFiles.ErrnoText(ex)}");
        }
        var ticks = _kernel.ClockTicksPerSecond;
        var result = new List<JsonValue>();
        foreach (var line in lines)
        {
            var f = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            if (f.Length == 0 || !f[0].StartsWith("cpu", StringComparison.Ordinal) || f[0].Length == 3) continue;
            var values = f.Skip(1).Take(10).TakeWhile(x => ulong.TryParse(x, out _)).Select(ulong.Parse).ToArray();
            // sscanf's count includes the name: fewer than 4 values ends the walk, as in qemu-ga.
            if (values.Length < 4) break;
            var scanned = values.Length + 1;
            var members = new List<(string, JsonValue?)>
            {
                ("type", new JsonString("linux")),
                ("cpu", new JsonInt(CpuMemory.HardwareActor.LeadingDecimal(f[0][3..]))),
            };
            for (var i = 0; i < CpuColumns.Length; i++)
            {
                var present = i switch
                {
                    < 4 => true,
                    4 => scanned > 5,
                    5 or 6 => scanned > 6,
                    7 => scanned > 8,
                    8 => scanned > 9,
                    _ => scanned > 10,
                };
                // irq and softirq are reported together; a line ending after irq gives softirq 0, as qemu's zeroed variable does.
                if (present) members.Add((CpuColumns[i], UInt64(i < values.Length ? values[i] * 1000 / (ulong)ticks : 0)));
            }
            result.Add(JsonObject.Of(members.ToArray()));
        }
        return new JsonArray(result.ToArray());
    }

    /// <summary>getloadavg() reads the first three fields of &lt;procfs&gt;/loadavg.</summary>
    private JsonValue Load()
    {
        var path = GuestFiles.Under(_settings.Paths.Procfs, "/loadavg");
        string text;
        try { text = global::System.Text.Encoding.UTF8.GetString(GuestFiles.ReadAllBytes(path)); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CommandException($"cannot query load average: {GuestFiles.ErrnoText(ex)}");
        }
        var f = text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (f.Length < 3 || !f.Take(3).All(x => double.TryParse(x, CultureInfo.InvariantCulture, out _)))
            throw new CommandException("cannot query load average: Invalid argument");
        return JsonObject.Of(
            ("load1m", new JsonDouble(double.Parse(f[0], CultureInfo.InvariantCulture))),
            ("load5m", new JsonDouble(double.Parse(f[1], CultureInfo.InvariantCulture))),
            ("load15m", new JsonDouble(double.Parse(f[2], CultureInfo.InvariantCulture))));
    }

    private static JsonValue UInt64(ulong v) => Storage.FilesystemsActor.Number(v);
}
