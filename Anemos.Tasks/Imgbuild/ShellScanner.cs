using System.Text;

namespace Anemos.Tasks.Imgbuild;

/// <summary>A token of a POSIX shell script: a word, an operator or a line end.</summary>
public sealed record ShellToken(ShellTokenKind Kind, string Text, int Line, string Literal = "", string? Expansion = null)
{
    public bool IsWord(string text) => Kind == ShellTokenKind.Word && Text == text;
    public bool IsOperator(string text) => Kind == ShellTokenKind.Operator && Text == text;
}

public enum ShellTokenKind { Word, Operator, Newline }

/// <summary>Raised for text no POSIX shell would accept (an unterminated quote, say), with the line it starts on.</summary>
public sealed class ShellSyntaxException(string message, int line) : Exception(message)
{
    public int Line { get; } = line;
}

/// <summary>
/// Splits POSIX shell text into words and operators the way a shell's lexer does (quotes,
/// escapes, $(…), ${…}, backquotes, comments, here-documents), without running anything.
/// A word keeps its literal value (quotes removed) and the first run-time expansion it holds,
/// so callers can check literal settings and flag computed ones.
/// </summary>
public sealed class ShellScanner
{
    readonly string _text;
    int _position;
    int _line = 1;
    readonly Queue<(string Delimiter, bool StripTabs, int Line)> _pendingHereDocuments = new();

    ShellScanner(string text) => _text = text.Replace("\r\n", "\n");

    public static List<ShellToken> Tokenize(string text) => new ShellScanner(text).Run();

    List<ShellToken> Run()
    {
        var tokens = new List<ShellToken>();
        while (_position < _text.Length)
        {
            char c = _text[_position];
            if (c is ' ' or '\t') { _position++; continue; }
            if (c == '\\' && Peek(1) == '\n') { _position += 2; _line++; continue; }
            if (c == '#') { SkipToLineEnd(); continue; }
            if (c == '\n')
            {
                tokens.Add(new ShellToken(ShellTokenKind.Newline, "\n", _line));
                _position++;
                _line++;
                ReadHereDocuments();
                continue;
            }
            if (IsOperatorStart(c))
            {
                string op = ReadOperator();
                tokens.Add(new ShellToken(ShellTokenKind.Operator, op, _line));
                if (op is "<<" or "<<-") QueueHereDocument(op == "<<-");
                continue;
            }
            tokens.Add(ReadWord());
        }
        if (_pendingHereDocuments.Count > 0)
            throw new ShellSyntaxException($"here-document delimited by '{_pendingHereDocuments.Peek().Delimiter}' has no body", _pendingHereDocuments.Peek().Line);
        return tokens;
    }

    char Peek(int offset) => _position + offset < _text.Length ? _text[_position + offset] : '\0';

    static bool IsOperatorStart(char c) => c is ';' or '&' or '|' or '(' or ')' or '<' or '>';

    string ReadOperator()
    {
        foreach (string op in new[] { "<<-", ";;", "&&", "||", "<<", ">>", "<&", ">&", "<>", ">|" })
        {
            if (string.CompareOrdinal(_text, _position, op, 0, op.Length) == 0)
            {
                _position += op.Length;
                return op;
            }
        }
        return _text[_position++].ToString();
    }

    void SkipToLineEnd()
    {
        while (_position < _text.Length && _text[_position] != '\n') _position++;
    }

    void QueueHereDocument(bool stripTabs)
    {
        while (_position < _text.Length && _text[_position] is ' ' or '\t') _position++;
        if (_position >= _text.Length || _text[_position] == '\n')
            throw new ShellSyntaxException("'<<' is not followed by a here-document delimiter", _line);
        var word = ReadWord();
        _pendingHereDocuments.Enqueue((word.Literal, stripTabs, _line));
    }

    void ReadHereDocuments()
    {
        while (_pendingHereDocuments.Count > 0)
        {
            var (delimiter, stripTabs, startLine) = _pendingHereDocuments.Dequeue();
            while (true)
            {
                if (_position >= _text.Length)
                    throw new ShellSyntaxException($"here-document starting on line {startLine} is not ended by a line '{delimiter}'", startLine);
                int end = _text.IndexOf('\n', _position);
                if (end < 0) end = _text.Length;
                string line = _text[_position..end];
                _position = Math.Min(end + 1, _text.Length);
                _line++;
                if ((stripTabs ? line.TrimStart('\t') : line) == delimiter) break;
            }
        }
    }

    ShellToken ReadWord()
    {
        int startLine = _line;
        int start = _position;
        var literal = new StringBuilder();
        string? expansion = null;
        while (_position < _text.Length)
        {
            char c = _text[_position];
            if (c is ' ' or '\t' or '\n' || IsOperatorStart(c)) break;
            switch (c)
            {
                case '\\':
                    if (Peek(1) == '\n') { _position += 2; _line++; }
                    else { if (Peek(1) != '\0') literal.Append(Peek(1)); _position += 2; }
                    break;
                case '\'':
                    literal.Append(ReadSingleQuoted());
                    break;
                case '"':
                    literal.Append(ReadDoubleQuoted(ref expansion));
                    break;
                case '$' or '`':
                    string text = ReadExpansion();
                    expansion ??= text;
                    literal.Append(text);
                    break;
                default:
                    literal.Append(c);
                    _position++;
                    break;
            }
        }
        _position = Math.Min(_position, _text.Length);
        return new ShellToken(ShellTokenKind.Word, _text[start.._position], startLine, literal.ToString(), expansion);
    }

    string ReadSingleQuoted()
    {
        int startLine = _line;
        int end = _text.IndexOf('\'', _position + 1);
        if (end < 0) throw new ShellSyntaxException($"the single quote opened on line {startLine} is never closed", startLine);
        string content = _text[(_position + 1)..end];
        _line += content.Count(ch => ch == '\n');
        _position = end + 1;
        return content;
    }

    string ReadDoubleQuoted(ref string? expansion)
    {
        int startLine = _line;
        var content = new StringBuilder();
        _position++;
        while (true)
        {
            if (_position >= _text.Length) throw new ShellSyntaxException($"the double quote opened on line {startLine} is never closed", startLine);
            char c = _text[_position];
            if (c == '"') { _position++; return content.ToString(); }
            if (c == '\\' && _position + 1 < _text.Length)
            {
                char next = _text[_position + 1];
                if (next == '\n') { _line++; }
                else if (next is '$' or '`' or '"' or '\\') content.Append(next);
                else content.Append(c).Append(next);
                _position += 2;
                continue;
            }
            if (c is '$' or '`')
            {
                string text = ReadExpansion();
                expansion ??= text;
                content.Append(text);
                continue;
            }
            if (c == '\n') _line++;
            content.Append(c);
            _position++;
        }
    }

    /// <summary>Reads $NAME, ${…}, $(…), $((…)) or `…` and returns its text.</summary>
    string ReadExpansion()
    {
        int start = _position;
        int startLine = _line;
        if (_text[_position] == '`')
        {
            _position++;
            while (true)
            {
                if (_position >= _text.Length) throw new ShellSyntaxException($"the backquote opened on line {startLine} is never closed", startLine);
                char c = _text[_position];
                if (c == '\\') { _position += 2; continue; }
                if (c == '\n') _line++;
                _position++;
                if (c == '`') return _text[start.._position];
            }
        }

        _position++; // '$'
        char next = Peek(0);
        if (next == '{') { ReadBalanced('{', '}', startLine, "${"); return _text[start.._position]; }
        if (next == '(') { ReadBalanced('(', ')', startLine, "$("); return _text[start.._position]; }
        if (char.IsLetter(next) || next == '_')
        {
            while (_position < _text.Length && (char.IsLetterOrDigit(_text[_position]) || _text[_position] == '_')) _position++;
            return _text[start.._position];
        }
        if (next != '\0' && "@*#?-$!0123456789".Contains(next)) { _position++; return _text[start.._position]; }
        return "$"; // a lone dollar is literal
    }

    void ReadBalanced(char open, char close, int startLine, string what)
    {
        int depth = 0;
        while (true)
        {
            if (_position >= _text.Length) throw new ShellSyntaxException($"the '{what}' opened on line {startLine} is never closed", startLine);
            char c = _text[_position];
            if (c == '\\') { _position += 2; continue; }
            if (c == '\'' && open == '(') { ReadSingleQuoted(); continue; }
            if (c == '"') { string? ignored = null; ReadDoubleQuoted(ref ignored); continue; }
            if (c == '`' || (c == '$' && Peek(1) is '(' or '{')) { ReadExpansion(); continue; }
            if (c == '\n') _line++;
            _position++;
            if (c == open) depth++;
            else if (c == close && --depth == 0) return;
        }
    }
}
