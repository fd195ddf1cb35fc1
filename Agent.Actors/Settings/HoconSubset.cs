using Akka.Configuration;
using Akka.Configuration.Hocon;

namespace Agent.Actors.Settings;

/// <summary>
/// Builds the tree Akka's <see cref="ConfigurationFactory.ParseString(string)"/> builds, for the HOCON the agent writes
/// itself: hocon/reference.conf and the layers it generates (command-line overrides, Akka's log settings). Akka's
/// tokenizer takes a substring for every character it looks at; reference.conf alone cost 3.5 M instructions of every
/// start that way (bench/README.md, "Start-up share, round 4"). Only these forms are read: objects, <c>key = value</c>
/// and <c>key { }</c> with dotted and quoted keys, quoted and unquoted values (several on a line concatenate, as in
/// Akka), lists of them, and comments. Anything else (substitutions, includes, triple quotes, objects after <c>=</c>,
/// a text not ending in a newline) is left to Akka's parser, so a new form in reference.conf can make a start slower,
/// never different; ReferenceConfigSpecs holds the trees to Akka's. Operators' files always go to Akka's parser.
/// </summary>
public static class HoconSubset
{
    /// <summary>The text parsed here when it keeps to the subset, else by Akka (which also reports its errors).</summary>
    public static Config Parse(string text) => TryParse(text) ?? ConfigurationFactory.ParseString(text);

    /// <summary>The tree Akka would build, or null when the text leaves the subset.</summary>
    public static Config? TryParse(string text)
    {
        // Ending in a newline, no check below can meet the last character, where Akka's multi-pattern
        // Matches never matches (so '#', '=' or a space there would read differently).
        if (text.Length == 0 || text[^1] != '\n') return null;
        var reader = new Reader(text);
        var root = new HoconValue();
        if (!reader.Object(root, whole: true)) return null;
        reader.SkipBlank();
        // A '}' at the top ends Akka's parse early and drops the rest: not a form the agent writes.
        return reader.AtEnd ? new Config(new HoconRoot(root)) : null;
    }

    private sealed class Reader(string text)
    {
        // Characters that end an unquoted key or value in Akka's tokenizer ('.' separates keys only).
        private const string NotInKey = "$\"{}[]:=,#`^?!@*&\\.";
        private const string NotInText = "$\"{}[]:=,#`^?!@*&\\";

        private int _at;

        public bool AtEnd => _at >= text.Length;

        private char Current => text[_at];

        private bool CommentStarts => Current == '#' || (Current == '/' && _at + 1 < text.Length && text[_at + 1] == '/');

        /// <summary>Whitespace (newlines too) and comments up to the end of their line.</summary>
        public void SkipBlank()
        {
            while (!AtEnd)
            {
                if (char.IsWhiteSpace(Current)) _at++;
                else if (CommentStarts)
                {
                    var newline = text.IndexOf('\n', _at);
                    _at = newline < 0 ? text.Length : newline + 1;
                }
                else return;
            }
        }

        /// <summary>The members of an object into <paramref name="owner"/>: all up to its '}' (or the end), or only one after a dot.</summary>
        public bool Object(HoconValue owner, bool whole)
        {
            if (!owner.IsObject()) owner.NewValue(new HoconObject());
            var members = owner.GetObject();
            while (true)
            {
                SkipBlank();
                if (AtEnd) return true;
                if (Current == '}')
                {
                    _at++;
                    return true;
                }
                if (Key() is not { } key || !Content(members.GetOrCreateKey(key))) return false;
                if (!whole) return true;
            }
        }

        private string? Key()
        {
            if (Current == '"') return Quoted();
            if (char.IsWhiteSpace(Current) || CommentStarts || NotInKey.Contains(Current) || text.AsSpan(_at).StartsWith("include"))
                return null;
            var start = _at;
            while (!AtEnd && !CommentStarts && !NotInKey.Contains(Current)) _at++;
            return text[start.._at].Trim();
        }

        /// <summary>What follows a key: a dot and the next key, '=' or ':' and a value, or an object.</summary>
        private bool Content(HoconValue value)
        {
            SkipBlank();
            if (AtEnd) return false;
            switch (Current)
            {
                case '.':
                    _at++;
                    return Object(value, whole: false);
                case '=' or ':':
                    _at++;
                    if (!value.IsObject()) value.Clear();
                    return Value(value);
                case '{':
                    _at++;
                    return Object(value, whole: true);
                default:
                    return false;
            }
        }

        /// <summary>Values up to the end of the line (or a ',' or ']'), spaces between them kept as Akka keeps them.</summary>
        private bool Value(HoconValue owner)
        {
            SkipBlank();
            var start = _at;
            while (!AtEnd)
            {
                var c = Current;
                if (c == '"')
                {
                    if (text.AsSpan(_at).StartsWith("\"\"\"") || Quoted() is not { } quoted) return false;
                    Literal(owner, quoted);
                }
                else if (c == '[')
                {
                    _at++;
                    if (List() is not { } list) return false;
                    owner.AppendValue(list);
                }
                else if (c is '{' || (c == '$' && _at + 1 < text.Length && text[_at + 1] == '{')) return false;
                else if (!char.IsWhiteSpace(c) && !CommentStarts && !NotInText.Contains(c))
                {
                    var from = _at;
                    while (!AtEnd && !char.IsWhiteSpace(Current) && !CommentStarts && !NotInText.Contains(Current)) _at++;
                    // Akka refuses an unquoted value followed by '=' or ':'.
                    if (!AtEnd && Current is '=' or ':') return false;
                    Literal(owner, text[from.._at]);
                }
                else break;
                if (!AtEnd && Current is ' ' or '\t')
                {
                    var from = _at;
                    while (!AtEnd && Current is ' ' or '\t') _at++;
                    owner.AppendValue(new HoconLiteral { Value = text[from.._at] });
                }
            }
            // Nothing before the end of the line: Akka leaves the value empty; only a list's empty element is that here.
            if (_at == start && (AtEnd || Current is not (',' or ']'))) return false;
            if (!AtEnd && Current == ',') _at++;
            return true;
        }

        private static void Literal(HoconValue owner, string value)
        {
            // A literal replaces an object assigned before (Akka's parser does the same).
            if (owner.IsObject()) owner.Clear();
            owner.AppendValue(new HoconLiteral { Value = value });
        }

        private HoconArray? List()
        {
            var list = new HoconArray();
            while (true)
            {
                if (AtEnd) return null;
                if (Current == ']')
                {
                    _at++;
                    return list;
                }
                var element = new HoconValue();
                var before = _at;
                if (!Value(element) || _at == before) return null;
                list.Add(element);
                SkipBlank();
            }
        }

        /// <summary>A quoted key or value with the escapes Akka knows; null when unterminated or with another escape.</summary>
        private string? Quoted()
        {
            _at++;
            var start = _at;
            System.Text.StringBuilder? escaped = null;
            while (!AtEnd && Current != '"')
            {
                if (Current != '\\')
                {
                    _at++;
                    continue;
                }
                escaped ??= new System.Text.StringBuilder();
                escaped.Append(text, start, _at - start);
                if (_at + 1 >= text.Length) return null;
                var code = text[_at + 1];
                _at += 2;
                switch (code)
                {
                    case '"' or '\\' or '/': escaped.Append(code); break;
                    case 'b': escaped.Append('\b'); break;
                    case 'f': escaped.Append('\f'); break;
                    case 'n': escaped.Append('\n'); break;
                    case 'r': escaped.Append('\r'); break;
                    case 't': escaped.Append('\t'); break;
                    case 'u':
                        if (_at + 4 > text.Length || !ushort.TryParse(text.AsSpan(_at, 4), System.Globalization.NumberStyles.AllowHexSpecifier,
                                System.Globalization.CultureInfo.InvariantCulture, out var unit))
                            return null;
                        escaped.Append((char)unit);
                        _at += 4;
                        break;
                    default: return null;
                }
                start = _at;
            }
            if (AtEnd) return null;
            var value = escaped is null ? text[start.._at] : escaped.Append(text, start, _at - start).ToString();
            _at++;
            return value;
        }
    }
}
