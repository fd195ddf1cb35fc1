using Agent.Protocol.Envelope;
using Agent.Protocol.Json;

namespace Agent.Fuzz;

/// <summary>
/// The last guard before bytes reach the agent: parses them as the agent will (its own streamer and
/// envelope check, so both agree on what the requests are) and refuses any request that could reach
/// outside the fake guest: guest-file-open outside its files folder, guest-exec of anything but the
/// harmless programs or in a folder outside the fake guest. Everything else already only sees fake paths.
/// </summary>
public static class SafetyFilter
{
    /// <summary>The commands <paramref name="data"/> holds, as the agent will see them.</summary>
    public static IEnumerable<string> Commands(ReadOnlySpan<byte> data)
    {
        var items = new List<StreamItem>();
        new JsonStreamer().Feed(data, items);
        return items.Select(i => i is StreamValue { Value: var v } && RequestEnvelope.Validate(v) is EnvelopeOk { Request: var r } ? r.Command : null)
            .OfType<string>().ToArray();
    }

    /// <param name="quarantined">Commands not to send any more (they wedged the agent often enough already).</param>
    public static bool IsSafe(ReadOnlySpan<byte> data, FuzzGuest guest, IReadOnlySet<string>? quarantined = null)
    {
        var items = new List<StreamItem>();
        new JsonStreamer().Feed(data, items);
        return IsSafe(items, guest, quarantined);
    }

    /// <summary>The same over items already parsed (a round parses its bytes once, see <see cref="FuzzSession.Send"/>).</summary>
    public static bool IsSafe(List<StreamItem> items, FuzzGuest guest, IReadOnlySet<string>? quarantined = null)
    {
        foreach (var item in items)
        {
            if (item is not StreamValue { Value: var value } || RequestEnvelope.Validate(value) is not EnvelopeOk { Request: var request })
                continue;
            if (quarantined?.Contains(request.Command) == true) return false;
            var args = request.Arguments;
            switch (request.Command)
            {
                case "guest-file-open":
                    if (args["path"] is JsonString path && !Inside(path.Value, guest.Files)) return false;
                    break;
                case "guest-exec":
                    if (args["path"] is JsonString program && !FuzzGuest.Programs.Contains(program.Value)) return false;
                    if (args["__org.actoragent_working-directory"] is JsonString dir && !Inside(dir.Value, guest.Root)) return false;
                    break;
            }
        }
        return true;
    }

    private static bool Inside(string path, string folder) =>
        path.StartsWith(folder + "/", StringComparison.Ordinal) && !path.Contains('\0') && !path.Contains("/..") && !path.Contains("//");
}
