namespace Anemos.Tasks.Imgbuild;

/// <summary>One top-level assignment of an IMGBUILD.</summary>
public sealed record ImgbuildSetting(string Name, string Value, int Line, string? Expansion);

/// <summary>
/// The top level of an IMGBUILD as makeimg sources it: its assignments and its functions.
/// Commands other than assignments and function definitions are skipped; they are the user's.
/// </summary>
public sealed class ImgbuildDocument
{
    public List<ImgbuildSetting> Assignments { get; } = [];
    public Dictionary<string, int> Functions { get; } = new(StringComparer.Ordinal);

    /// <summary>The last assignment of <paramref name="name"/>, which is the one makeimg sees.</summary>
    public ImgbuildSetting? Setting(string name) => Assignments.LastOrDefault(a => a.Name == name);

    /// <summary>The target when it is a literal makeimg knows (arch, alpine, debian); null when computed at run time, missing or unknown.</summary>
    public string? LiteralTarget => Setting("target") is { Expansion: null } target && ImgbuildRules.Targets.Contains(target.Value) ? target.Value : null;

    public static ImgbuildDocument Parse(string text)
    {
        var tokens = ShellScanner.Tokenize(text);
        var document = new ImgbuildDocument();
        int i = 0;
        while (i < tokens.Count)
        {
            var token = tokens[i];
            if (token.Kind != ShellTokenKind.Word) { i++; continue; }

            // name() { … }   or   name() ( … )
            if (i + 2 < tokens.Count && tokens[i + 1].IsOperator("(") && tokens[i + 2].IsOperator(")") && ShellQuoting.IsIdentifier(token.Text))
            {
                document.Functions[token.Text] = token.Line;
                i = SkipFunctionBody(tokens, i + 3, token);
                continue;
            }

            // leading NAME=VALUE words of a statement
            bool sawAssignment = false;
            while (i < tokens.Count && tokens[i].Kind == ShellTokenKind.Word && TryAssignment(tokens[i], out var setting))
            {
                document.Assignments.Add(setting);
                sawAssignment = true;
                i++;
            }
            if (!sawAssignment || (i < tokens.Count && tokens[i].Kind == ShellTokenKind.Word))
                i = SkipStatement(tokens, i);
        }
        return document;
    }

    static bool TryAssignment(ShellToken word, out ImgbuildSetting setting)
    {
        setting = null!;
        int equals = word.Text.IndexOf('=');
        if (equals <= 0 || !ShellQuoting.IsIdentifier(word.Text[..equals])) return false;
        string name = word.Text[..equals];
        string literal = word.Literal.Length > equals ? word.Literal[(equals + 1)..] : "";
        setting = new ImgbuildSetting(name, literal, word.Line, word.Expansion);
        return true;
    }

    static int SkipStatement(List<ShellToken> tokens, int i)
    {
        while (i < tokens.Count && tokens[i].Kind != ShellTokenKind.Newline && !tokens[i].IsOperator(";") && !tokens[i].IsOperator("&")) i++;
        return i + 1;
    }

    static int SkipFunctionBody(List<ShellToken> tokens, int i, ShellToken name)
    {
        while (i < tokens.Count && tokens[i].Kind == ShellTokenKind.Newline) i++;
        if (i >= tokens.Count)
            throw new ShellSyntaxException($"function '{name.Text}' has no body", name.Line);
        bool braces = tokens[i].IsWord("{");
        bool parens = tokens[i].IsOperator("(");
        if (!braces && !parens)
            throw new ShellSyntaxException($"function '{name.Text}' must have a body in {{ }} or ( )", tokens[i].Line);
        int depth = 0;
        for (; i < tokens.Count; i++)
        {
            var t = tokens[i];
            if (braces ? t.IsWord("{") : t.IsOperator("(")) depth++;
            else if (braces ? t.IsWord("}") : t.IsOperator(")"))
            {
                if (--depth == 0) return i + 1;
            }
        }
        throw new ShellSyntaxException($"the body of function '{name.Text}' is never closed", name.Line);
    }
}
