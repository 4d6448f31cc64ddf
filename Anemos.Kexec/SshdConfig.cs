namespace Anemos.Kexec;

/// <summary>
/// What the running sshd reads as its host keys (the `HostKey` lines) and where it finds a user's
/// authorized keys (`AuthorizedKeysFile`): the `HostKey` lines of /etc/ssh/sshd_config and of
/// the files its `Include` lines name (globs, relative paths under /etc/ssh, read in place as sshd
/// does), in order. sshd_config(5): keywords are case-insensitive, a value may be quoted, `#` starts
/// a comment; `HostKey` is not allowed inside `Match`, so every line counts. Empty when no line
/// names a key: sshd then uses its defaults.
/// </summary>
public static class SshdConfig
{
    public const string File = "/etc/ssh/sshd_config";
    const int MaxIncludeDepth = 16;

    public static IReadOnlyList<string> HostKeyPaths(SystemFiles files) =>
        Lines(files, "HostKey", topLevelOnly: false).Select(words => Absolute(words[1])).Distinct(StringComparer.Ordinal).ToList();

    /// <summary>
    /// The files sshd reads a user's authorized keys from: the first `AuthorizedKeysFile` line outside
    /// any `Match` block (sshd keeps a keyword's first value), its words as written (tokens such as
    /// %h and %u, relative paths under the user's home); sshd's default `.ssh/authorized_keys
    /// .ssh/authorized_keys2` without one. A `Match` block that changes it for the deploy's user is not
    /// followed.
    /// </summary>
    public static IReadOnlyList<string> AuthorizedKeysFiles(SystemFiles files) =>
        Lines(files, "AuthorizedKeysFile", topLevelOnly: true).FirstOrDefault() is { } words ? words.Skip(1).ToList() : [".ssh/authorized_keys", ".ssh/authorized_keys2"];

    /// <summary>Every line with <paramref name="keyword"/> and a value, in the order sshd reads them (Include lines read in place).</summary>
    static List<List<string>> Lines(SystemFiles files, string keyword, bool topLevelOnly)
    {
        var lines = new List<List<string>>();
        bool inMatch = false;
        Read(File, 0);
        return lines;

        void Read(string path, int depth)
        {
            if (depth > MaxIncludeDepth || files.Read(path) is not { } text) return;
            foreach (string raw in text.Split('\n'))
            {
                var words = Words(raw);
                if (words.Count < 2) continue;
                if (words[0].Equals("Match", StringComparison.OrdinalIgnoreCase)) inMatch = true;
                else if (words[0].Equals(keyword, StringComparison.OrdinalIgnoreCase) && !(topLevelOnly && inMatch)) lines.Add(words);
                else if (words[0].Equals("Include", StringComparison.OrdinalIgnoreCase))
                    foreach (string pattern in words.Skip(1))
                        foreach (string included in Expand(files, Absolute(pattern)))
                            Read(included, depth + 1);
            }
        }
    }

    /// <summary>A line's words: the keyword, then its values (`Keyword value`, `Keyword=value` or `Keyword = value`), double quotes around a value with spaces, `#` to the end a comment.</summary>
    static List<string> Words(string line)
    {
        string text = line.Trim();
        int end = text.IndexOfAny([' ', '\t', '=']);
        if (text.Length == 0 || text[0] == '#' || end <= 0) return [];
        var words = new List<string> { text[..end] };
        string rest = text[end..].TrimStart();
        if (rest.StartsWith('=')) rest = rest[1..];
        int i = 0;
        while (i < rest.Length)
        {
            while (i < rest.Length && char.IsWhiteSpace(rest[i])) i++;
            if (i >= rest.Length || rest[i] == '#') break;
            if (rest[i] == '"')
            {
                int close = rest.IndexOf('"', i + 1);
                if (close < 0) break;
                words.Add(rest[(i + 1)..close]);
                i = close + 1;
            }
            else
            {
                int start = i;
                while (i < rest.Length && !char.IsWhiteSpace(rest[i])) i++;
                words.Add(rest[start..i]);
            }
        }
        return words;
    }

    static string Absolute(string path) => path.StartsWith('/') ? path : $"{HostKeyFiles.Directory}/{path}";

    /// <summary>An Include pattern's files in lexical order, as glob(3) gives them; a `*` or `?` in the file name only.</summary>
    static IEnumerable<string> Expand(SystemFiles files, string pattern)
    {
        string directory = Path.GetDirectoryName(pattern) ?? "/", name = Path.GetFileName(pattern);
        if (name.IndexOfAny(['*', '?']) < 0) return [pattern];
        var regex = new System.Text.RegularExpressions.Regex(
            "^" + System.Text.RegularExpressions.Regex.Escape(name).Replace(@"\*", "[^/]*", StringComparison.Ordinal).Replace(@"\?", "[^/]", StringComparison.Ordinal) + "$");
        return files.List(directory).Where(entry => !entry.StartsWith('.') && regex.IsMatch(entry)).Select(entry => $"{directory}/{entry}");
    }
}
