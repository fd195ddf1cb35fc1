using Agent.Actors.Settings;
using Akka.Configuration;

namespace Agent.Tests.Settings;

/// <summary>The embedded defaults are parsed without their comment lines; nothing else may change by that.</summary>
public sealed class ReferenceConfigSpecs
{
    private static string EmbeddedText()
    {
        using var stream = typeof(AgentSettings).Assembly.GetManifestResourceStream("Agent.reference.conf")!;
        return new StreamReader(stream).ReadToEnd();
    }

    [Fact]
    public void The_defaults_without_comment_lines_are_the_whole_files_defaults()
    {
        var whole = ConfigurationFactory.ParseString(EmbeddedText());

        Assert.Equal(whole.Root.ToString(), AgentSettings.DefaultConfig().Root.ToString());
        Assert.Contains("max-reply-bytes", AgentSettings.DefaultConfig().Root.ToString());
    }

    [Fact]
    public void Only_whole_comment_lines_go_and_text_after_a_value_stays()
    {
        const string hocon = "a {\n  # one\n\n  // two\n  b = 1 # trailing\n    #indented\n  c = \"x # not a comment\"\n}\n";

        Assert.Equal("a {\n  b = 1 # trailing\n  c = \"x # not a comment\"\n}\n", AgentSettings.WithoutCommentLines(hocon));
    }
}
