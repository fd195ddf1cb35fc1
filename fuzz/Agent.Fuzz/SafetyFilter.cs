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
    public static bool IsSafe(ReadOnlySpan<byte> data, FuzzGuest guest)
    {
        var streamer = new JsonStreamer();
        var items = new List<StreamItem>();
        streamer.Feed(data, items);
        foreach (var item in items)
        {
            if (item is not StreamValue { Value: var value } || RequestEnvelope.Validate(value) is not EnvelopeOk { Request: var request })
                continue;
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
