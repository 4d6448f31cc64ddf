using System.Text;
using System.Text.RegularExpressions;

namespace Anemos.Tasks;

/// <summary>Writes values a POSIX shell can source without running anything: single quotes, and '\'' for a quote inside.</summary>
public static partial class ShellQuoting
{
    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$")]
    private static partial Regex IdentifierPattern();

    public static bool IsIdentifier(string name) => IdentifierPattern().IsMatch(name);

    public static string Quote(string value) => "'" + value.Replace("'", "'\\''") + "'";

    /// <summary>
    /// The argument of a remote `sh -c` that any login shell hands to sh unread: csh and tcsh end a
    /// quoted word at a newline ("Unmatched '") and expand `!` even inside single quotes, fish reads
    /// `\\` and `\'` inside them as escapes; so a command holding any of these travels base64-encoded
    /// (letters, digits, + / = only) and sh decodes it.
    /// </summary>
    public static string QuoteForAnyLoginShell(string command) =>
        command.AsSpan().IndexOfAny('\n', '!', '\\') < 0
            ? Quote(command)
            : Quote("eval \"$(echo " + Convert.ToBase64String(Encoding.UTF8.GetBytes(command)) + " | base64 -d)\"");

    public static string Assignment(string name, string value) => name + "=" + Quote(value) + "\n";

    public static byte[] EnvironmentFile(IEnumerable<KeyValuePair<string, string>> assignments)
    {
        var text = new StringBuilder();
        foreach (var (name, value) in assignments)
            text.Append(Assignment(name, value));
        return new UTF8Encoding(false).GetBytes(text.ToString());
    }
}
