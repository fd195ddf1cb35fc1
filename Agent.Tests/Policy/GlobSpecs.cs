using Agent.Actors.Policy;

namespace Agent.Tests.Policy;

public sealed class GlobSpecs
{
    [Theory]
    [InlineData("/usr/bin/*", "/usr/bin/env", true)]
    [InlineData("/usr/bin/*", "/usr/bin/sub/env", false)]
    [InlineData("/usr/bin/*", "/usr/bin/", true)]
    [InlineData("/opt/**", "/opt/a/b/c", true)]
    [InlineData("/opt/**/run", "/opt/a/b/run", true)]
    [InlineData("/opt/**/run", "/opt/a/b/runx", false)]
    [InlineData("/bin/?", "/bin/x", true)]
    [InlineData("/bin/?", "/bin/xy", false)]
    [InlineData("/bin/sh", "/bin/sh", true)]
    [InlineData("/bin/sh", "/bin/shx", false)]
    [InlineData("svc-*", "svc-web", true)]
    [InlineData("svc-*", "svc", false)]
    [InlineData("*", "", true)]
    [InlineData("**", "/anything/at/all", true)]
    public void Matches(string pattern, string text, bool expected) => Assert.Equal(expected, Glob.Matches(pattern, text));
}
