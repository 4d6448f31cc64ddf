using System.Globalization;

namespace Anemos.Tasks;

/// <summary>
/// The one reader of AnemosSourceDateEpoch in the tasks. The targets resolve and validate it
/// (Anemos.SourceDateEpoch.targets, ANEMOS0006), so a bad value here is a bug, not user input.
/// </summary>
public static class SourceDateEpoch
{
    /// <summary>The largest timestamp every archive we write can hold (a newc cpio mtime is 32 bits).</summary>
    public const long Maximum = uint.MaxValue;

    /// <summary>Seconds since 1970; an empty value is 0.</summary>
    public static long Parse(string? value)
    {
        string text = (value ?? "").Trim();
        if (text.Length == 0) return 0;
        if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long seconds) || seconds > Maximum)
            throw new ArgumentException($"SourceDateEpoch '{text}' reached a task although the targets validate it (ANEMOS0006).");
        return seconds;
    }
}
