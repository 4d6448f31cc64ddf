using System.Globalization;

namespace Anemos.Tasks;

/// <summary>One coded error or warning: the code, and a message that says what to do about it.</summary>
public sealed record Diagnostic(string Code, string Message, bool IsWarning = false)
{
    public string Format(object?[] arguments) =>
        arguments.Length == 0 ? Message : string.Format(CultureInfo.InvariantCulture, Message, arguments);
}
