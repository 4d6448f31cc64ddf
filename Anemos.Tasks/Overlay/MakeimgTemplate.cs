namespace Anemos.Tasks;

/// <summary>
/// The template syntax our makeimg expands (docs/imgbuild.md): <c>${NAME}</c> with NAME a shell
/// identifier is a variable; <c>$${</c> is a literal <c>${</c>; everything else is literal text.
/// The engine implements the same rule in awk; this reader lets the build check it per host.
/// </summary>
public static class MakeimgTemplate
{
    public const string Suffix = ".makeimg.template";

    public readonly record struct Reference(string Name, int Line);

    public static IEnumerable<Reference> References(TextReader reader)
    {
        int lineNumber = 0;
        while (reader.ReadLine() is { } line)
        {
            lineNumber++;
            for (int i = 0; i + 1 < line.Length; i++)
            {
                if (line[i] != '$') continue;
                if (line[i + 1] == '$' && i + 2 < line.Length && line[i + 2] == '{') { i += 2; continue; }
                if (line[i + 1] != '{') continue;
                int end = line.IndexOf('}', i + 2);
                if (end < 0) break;
                string name = line[(i + 2)..end];
                if (ShellQuoting.IsIdentifier(name)) yield return new(name, lineNumber);
                i = end;
            }
        }
    }
}
