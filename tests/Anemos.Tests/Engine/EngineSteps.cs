using System.Globalization;
using System.Text.RegularExpressions;

namespace Anemos.Tests.Engine;

/// <summary>
/// What each step of an engine run took, read from the engine's own log lines
/// ("2026-12-06T07:30:12Z makeimg[bootstrap]: start" at every step's start, "built …" at the end):
/// where an install's time went, and how much of it is the engine's own work rather than
/// the bootstrap's (mmdebstrap) and provision()'s. bench/rehearse-dns.sh reads the line <see cref="Summary"/> makes.
/// </summary>
public static partial class EngineSteps
{
    /// <summary>The steps that run the distribution's tools: the rest is the engine's own.</summary>
    static readonly string[] ToolSteps = ["bootstrap", "provision"];

    [GeneratedRegex(@"(?m)^.*?(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ) makeimg\[(\w+)\]: (start|built .*)$")]
    private static partial Regex LogLine();

    /// <summary>Each step's seconds in order, from its start line to the next step's (the last to "built").</summary>
    public static IReadOnlyList<(string Step, int Seconds)> Durations(string output)
    {
        var marks = LogLine().Matches(output)
            .Select(m => (Time: DateTimeOffset.ParseExact(m.Groups[1].Value, "yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal), Step: m.Groups[2].Value))
            .ToList();
        return marks.Zip(marks.Skip(1), (from, to) => (from.Step, (int)(to.Time - from.Time).TotalSeconds)).ToList();
    }

    /// <summary>"engine steps: read 0 s, setup 9 s, bootstrap 612 s, …; total 850 s, the engine's own 21 s (0.025)", or null without the log.</summary>
    public static string? Summary(string output)
    {
        var steps = Durations(output);
        if (steps.Count == 0) return null;
        int total = steps.Sum(s => s.Seconds);
        int own = steps.Where(s => !ToolSteps.Contains(s.Step)).Sum(s => s.Seconds);
        return string.Create(CultureInfo.InvariantCulture,
            $"engine steps: {string.Join(", ", steps.Select(s => $"{s.Step} {s.Seconds} s"))}; total {total} s, the engine's own {own} s ({(total == 0 ? 0 : (double)own / total):F3})");
    }
}
