using Agent.Protocol.Json;

namespace Agent.Tests.Protocol;

/// <summary>Helpers to write byte streams as strings (each char is one byte, 0x00–0xFF).</summary>
internal static class ProtocolTestBytes
{
    public static byte[] B(string latin1) => latin1.Any(c => c > 0xFF) ? throw new ArgumentException("not a byte string") : System.Text.Encoding.Latin1.GetBytes(latin1);

    /// <summary>Feeds the stream in one go; values as "V:json", errors as "E:desc".</summary>
    public static List<string> Lex(string latin1) => Lex(B(latin1));

    public static List<string> Lex(byte[] bytes)
    {
        var items = new List<StreamItem>();
        new JsonStreamer().Feed(bytes, items);
        return items.Select(Show).ToList();
    }

    public static string Show(StreamItem item) => item switch
    {
        StreamValue v => "V:" + JsonWriter.ToJson(v.Value),
        StreamError e => "E:" + e.Desc,
        _ => throw new ArgumentException("unknown item"),
    };
}
