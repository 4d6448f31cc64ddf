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

    public static string Assignment(string name, string value) => name + "=" + Quote(value) + "\n";

    public static byte[] EnvironmentFile(IEnumerable<KeyValuePair<string, string>> assignments)
    {
        var text = new StringBuilder();
        foreach (var (name, value) in assignments)
            text.Append(Assignment(name, value));
        return new UTF8Encoding(false).GetBytes(text.ToString());
    }
}
