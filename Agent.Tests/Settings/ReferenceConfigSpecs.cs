using System.Text;
using Agent.Actors.Settings;
using Akka.Configuration;
using CsCheck;

namespace Agent.Tests.Settings;

/// <summary>
/// The embedded defaults and the layers the agent writes are read by <see cref="HoconSubset"/> instead of Akka's
/// parser; nothing may change by that: the trees are Akka's, element by element.
/// </summary>
public sealed class ReferenceConfigSpecs
{
    private static string EmbeddedText()
    {
        using var stream = typeof(AgentSettings).Assembly.GetManifestResourceStream("Agent.reference.conf")!;
        return new StreamReader(stream).ReadToEnd();
    }

    [Fact]
    public void The_embedded_defaults_keep_to_the_subset_and_read_as_akkas_parse_of_the_whole_file()
    {
        var text = EmbeddedText();
        var ours = HoconSubset.TryParse(text);

        Assert.NotNull(ours);
        HoconTrees.AssertSame(ConfigurationFactory.ParseString(text).Root, ours.Root);
        HoconTrees.AssertSame(ConfigurationFactory.ParseString(text).Root, AgentSettings.DefaultConfig().Root);
        Assert.Equal(10484736, AgentSettings.DefaultConfig().GetByteSize("agent.channel.max-reply-bytes"));
        Assert.Equal("agent.channel.event-loop", AgentSettings.DefaultConfig().GetString("akka.actor.deployment.\"/agent/channel\".dispatcher"));
    }

    [Fact]
    public void Generated_documents_in_the_subset_read_as_akka_reads_them()
    {
        Gen.Int.Sample(seed =>
        {
            var text = Document(new Random(seed));
            var ours = HoconSubset.TryParse(text);
            Assert.True(ours is not null, $"not read by the subset:\n{text}");
            HoconTrees.AssertSame(ConfigurationFactory.ParseString(text).Root, ours.Root);
        }, iter: 1000);
    }

    [Theory]
    [InlineData("a = ${b}\nb = 1\n")]
    [InlineData("include \"other.conf\"\n")]
    [InlineData("a = \"\"\"x\"\"\"\n")]
    [InlineData("a = { b = 1 }\n")]
    [InlineData("a = \"unterminated\n")]
    [InlineData("a = \"\\q\"\n")]
    [InlineData("a = \"\\u12\"\n")]
    [InlineData("a = 1")]
    [InlineData("a = 1\n}\nb = 2\n")]
    [InlineData("a =\n")]
    public void Other_forms_are_left_to_akkas_parser(string text)
    {
        Assert.Null(HoconSubset.TryParse(text));
        Exception? akkaError = null;
        Config? akka = null;
        try { akka = ConfigurationFactory.ParseString(text); }
        catch (Exception e) { akkaError = e; }
        // Parse gives exactly what Akka gives: the same tree, or the same error.
        if (akkaError is null) Assert.Equal(akka!.Root.ToString(), HoconSubset.Parse(text).Root.ToString());
        else Assert.Equal(akkaError.Message, Assert.ThrowsAny<Exception>(() => HoconSubset.Parse(text)).Message);
    }

    [Fact]
    public void Quoted_values_keep_every_character_through_the_escapes_akka_knows()
    {
        var config = HoconSubset.TryParse("a = \"q\\\" b\\\\ s\\/ \\b\\f\\n\\r\\t \\u00e9\\u0001 # not a comment\"\n");

        Assert.NotNull(config);
        Assert.Equal("q\" b\\ s/ \b\f\n\r\t \u00e9\u0001 # not a comment", config.GetString("a"));
    }

    // A small set of keys, so documents assign, re-assign and merge the same paths in every order.
    private static readonly string[] Keys = ["a", "b", "c-d", "x1", "agent", "\"q.k\"", "\"/p/q\"", "\"sp ace\"", "\"e\\\"sc\""];

    private static string Document(Random r)
    {
        var text = new StringBuilder();
        Members(r, text, depth: 0, count: r.Next(1, 8));
        return text.ToString();
    }

    private static void Members(Random r, StringBuilder text, int depth, int count)
    {
        for (var i = 0; i < count; i++)
        {
            Blank(r, text);
            text.Append(Indent(r));
            var dotted = r.Next(3);
            text.Append(Pick(r, Keys));
            for (var d = 0; d < dotted; d++) text.Append('.').Append(Pick(r, Keys));
            switch (depth < 3 ? r.Next(4) : r.Next(3))
            {
                case 0: text.Append(" = "); Value(r, text); break;
                case 1: text.Append(Pick(r, ["=", " : ", ":", "\t=\t"])); Value(r, text); break;
                case 2: text.Append(" = "); List(r, text); Space(r, text); break;
                default:
                    text.Append(Pick(r, [" {", "{", " {\n"]));
                    Members(r, text, depth + 1, r.Next(0, 4));
                    Blank(r, text);
                    text.Append(Indent(r)).Append('}');
                    break;
            }
            if (r.Next(4) == 0) text.Append(Pick(r, [" # after", "  // after", "#x"]));
            text.Append(r.Next(6) == 0 ? "\r\n" : "\n");
        }
    }

    /// <summary>One or more atoms on a line, concatenated as HOCON has them.</summary>
    private static void Value(Random r, StringBuilder text)
    {
        var atoms = r.Next(1, 4);
        var previous = "";
        for (var i = 0; i < atoms; i++)
        {
            var atom = r.Next(2) == 0 ? Unquoted(r) : Quoted(r);
            var separator = i > 0 && r.Next(3) > 0 ? Pick(r, [" ", "  ", "\t"]) : "";
            // "" and a quote right after it would open a triple-quoted text, which is not in the subset.
            if (separator.Length == 0 && previous == "\"\"" && atom[0] == '"') separator = " ";
            text.Append(separator).Append(atom);
            previous = atom;
        }
        Space(r, text);
    }

    private static void List(Random r, StringBuilder text)
    {
        var count = r.Next(0, 4);
        if (count == 0)
        {
            text.Append(Pick(r, ["[]", "[ ]", "[\n]"]));
            return;
        }
        text.Append('[').Append(Pick(r, ["", " ", "\n  "]));
        for (var i = 0; i < count; i++)
        {
            if (i > 0) text.Append(Pick(r, [", ", ",", " , ", ",\n  ", "\n  "]));
            if (r.Next(4) == 0) List(r, text);
            else if (r.Next(2) == 0) text.Append(Unquoted(r));
            else text.Append(Quoted(r));
        }
        text.Append(Pick(r, ["]", " ]", ",]", "\n]"]));
    }

    private static string Unquoted(Random r) =>
        Pick(r, ["true", "off", "5s", "100ms", "0.1ms", "16MiB", "4096", "-3", "virtio-serial", "agent.channel.event-loop", "/usr/bin", "x/y", "OFF", "null"]);

    private static string Quoted(Random r)
    {
        var value = new StringBuilder("\"");
        var length = r.Next(0, 12);
        for (var i = 0; i < length; i++)
            value.Append(r.Next(10) switch
            {
                0 => Pick(r, ["\\\"", "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t"]),
                1 => $"\\u{r.Next(1, 0x10000):x4}",
                2 => Pick(r, ["#", "//", "{", "}", "[", "]", "=", ":", ",", "$", " ", "\t", "é", "${x}"]),
                _ => ((char)r.Next('a', 'z' + 1)).ToString(),
            });
        return value.Append('"').ToString();
    }

    private static void Space(Random r, StringBuilder text)
    {
        if (r.Next(4) == 0) text.Append(Pick(r, [" ", "\t", "  \t"]));
    }

    private static void Blank(Random r, StringBuilder text)
    {
        if (r.Next(5) == 0) text.Append(Pick(r, ["\n", "# comment\n", "  // comment = 1\n", "\t\n", "#\n"]));
    }

    private static string Indent(Random r) => Pick(r, ["", "  ", "\t", "    "]);

    private static string Pick(Random r, string[] choices) => choices[r.Next(choices.Length)];
}
