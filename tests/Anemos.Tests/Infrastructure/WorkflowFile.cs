using System.Text.RegularExpressions;

namespace Anemos.Tests.Infrastructure;

/// <summary>
/// The steps of a GitHub Actions workflow as the samples write them (two-space indentation,
/// `run:` as one line or a `|` block, `env:` and `with:` as one-line mappings or `|` blocks),
/// read line by line so a test can run the very commands the workflow runs, in its order.
/// </summary>
public static partial class WorkflowFile
{
    public sealed record Step(string Job, string? Name, string? Uses, string? Run, Dictionary<string, string> Env, Dictionary<string, string> With);

    [GeneratedRegex(@"^  ([A-Za-z0-9_-]+):\s*$")]
    private static partial Regex JobLine();

    [GeneratedRegex(@"^      - (.*)$")]
    private static partial Regex StepStart();

    [GeneratedRegex(@"^(\s*)([A-Za-z0-9_-]+):\s?(.*)$")]
    private static partial Regex KeyLine();

    public static IReadOnlyList<Step> Steps(string path)
    {
        var lines = File.ReadAllLines(path);
        var steps = new List<Step>();
        string? job = null;
        bool inJobs = false, inSteps = false;
        Dictionary<string, string>? fields = null;
        Dictionary<string, string>? env = null, with = null;

        void Flush()
        {
            if (fields is null || job is null) return;
            steps.Add(new Step(job, fields.GetValueOrDefault("name"), fields.GetValueOrDefault("uses"), fields.GetValueOrDefault("run"), env!, with!));
            fields = null;
        }

        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i];
            if (line.StartsWith("jobs:", StringComparison.Ordinal)) { inJobs = true; continue; }
            if (!inJobs || line.TrimStart().StartsWith('#') || line.Trim().Length == 0) continue;
            if (JobLine().Match(line) is { Success: true } jobMatch) { Flush(); job = jobMatch.Groups[1].Value; inSteps = false; continue; }
            if (line == "    steps:") { inSteps = true; continue; }
            if (!inSteps) continue;

            string content;
            int indent;
            if (StepStart().Match(line) is { Success: true } start)
            {
                Flush();
                fields = new(); env = new(); with = new();
                content = start.Groups[1].Value;
                indent = 8;
            }
            else if (line.StartsWith("        ", StringComparison.Ordinal) && fields is not null)
            {
                content = line.TrimStart();
                indent = line.Length - content.Length;
            }
            else continue;

            var key = KeyLine().Match(new string(' ', indent) + content);
            if (!key.Success) continue;
            string name = key.Groups[2].Value, value = key.Groups[3].Value.Trim();
            if (indent == 8 && (name is "env" or "with") && value.Length == 0)
            {
                var map = name == "env" ? env! : with!;
                while (i + 1 < lines.Length && lines[i + 1].StartsWith("          ", StringComparison.Ordinal))
                {
                    var entry = KeyLine().Match(lines[++i]);
                    string entryValue = entry.Groups[3].Value.Trim();
                    if (entryValue == "|") entryValue = Block(lines, ref i, 12);
                    map[entry.Groups[2].Value] = entryValue;
                }
                continue;
            }
            if (indent == 8) fields![name] = value == "|" ? Block(lines, ref i, 10) : value;
        }
        Flush();
        return steps;
    }

    /// <summary>The lines of a `|` block: those indented at least <paramref name="indent"/>, with that indentation removed.</summary>
    static string Block(string[] lines, ref int i, int indent)
    {
        var block = new List<string>();
        string prefix = new(' ', indent);
        while (i + 1 < lines.Length && (lines[i + 1].StartsWith(prefix, StringComparison.Ordinal) || lines[i + 1].Trim().Length == 0))
            block.Add(lines[++i].Length >= indent ? lines[i][indent..] : "");
        return string.Join('\n', block).TrimEnd() + "\n";
    }

    /// <summary>Replaces each `${{ expression }}` by what <paramref name="values"/> says it is (a missing one fails the test).</summary>
    public static string Expand(string text, IReadOnlyDictionary<string, string> values) =>
        Regex.Replace(text, @"\$\{\{\s*(.+?)\s*\}\}", m => values.TryGetValue(m.Groups[1].Value, out var v) ? v : throw new KeyNotFoundException("no value for ${{ " + m.Groups[1].Value + " }}"));
}
