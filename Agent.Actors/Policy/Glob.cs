namespace Agent.Actors.Policy;

/// <summary>
/// Shell-style patterns for policy lists: '*' matches any run of characters except '/', '**' any run
/// including '/', '?' one character except '/'; everything else matches itself.
/// </summary>
public static class Glob
{
    public static bool Matches(string pattern, string text) => Match(pattern.AsSpan(), text.AsSpan());

    public static bool MatchesAny(IEnumerable<string> patterns, string text) => patterns.Any(p => Matches(p, text));

    private static bool Match(ReadOnlySpan<char> pattern, ReadOnlySpan<char> text)
    {
        while (pattern.Length > 0)
        {
            if (pattern.StartsWith("**"))
            {
                var rest = pattern[2..];
                for (var i = 0; i <= text.Length; i++)
                    if (Match(rest, text[i..])) return true;
                return false;
            }
            if (pattern[0] == '*')
            {
                var rest = pattern[1..];
                for (var i = 0; i <= text.Length; i++)
                {
                    if (Match(rest, text[i..])) return true;
                    if (i < text.Length && text[i] == '/') return false;
                }
                return false;
            }
            if (text.Length == 0) return false;
            if (pattern[0] == '?' ? text[0] == '/' : pattern[0] != text[0]) return false;
            pattern = pattern[1..];
            text = text[1..];
        }
        return text.Length == 0;
    }
}
