namespace Anemos.Kexec;

/// <summary>A refusal with its ANEMOS5xxx code and a message that says what to do (docs/helper.md).</summary>
public sealed class HelperException(string code, string message) : Exception(message)
{
    public string Code { get; } = code;
}

/// <summary>Process exit codes (docs/helper.md).</summary>
public static class ExitCodes
{
    public const int Success = 0;
    public const int Refused = 1;
    public const int Usage = 2;
    public const int Internal = 3;
}
