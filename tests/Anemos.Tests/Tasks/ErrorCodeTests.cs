using System.Reflection;
using System.Text.RegularExpressions;
using Anemos.Tasks;
using Anemos.Tests.Infrastructure;

namespace Anemos.Tests.Tasks;

/// <summary>Every code is unique, documented in docs/errors.md, and every documented code exists.</summary>
public sealed class ErrorCodeTests
{
    static readonly Regex Code = new(@"ANEMOS\d{4}");

    /// <summary>The host helper's codes (Anemos.Kexec), 5xxx.</summary>
    static IReadOnlyList<string> HelperCodeList() =>
        typeof(Anemos.Core.Protocol.HelperCodes).GetFields(BindingFlags.Public | BindingFlags.Static).Select(f => (string)f.GetValue(null)!).ToList();

    [Fact]
    public void HelperCodesAreUniqueAndInTheirRange()
    {
        var codes = HelperCodeList();
        Assert.All(codes, c => Assert.Matches("^ANEMOS5[0-9]{3}$", c));
        Assert.Equal(codes.Count, codes.Distinct().Count());
    }

    static IReadOnlyList<Diagnostic> TaskDiagnostics() =>
        typeof(Diagnostics).GetFields(BindingFlags.Public | BindingFlags.Static).Select(f => (Diagnostic)f.GetValue(null)!).ToList();

    /// <summary>Codes raised outside the tasks: the .targets files, the scripts (the deploy init's `fail "CODE: …"` and install disk codes, the engine's `_mi_fail CODE`), the samples.</summary>
    static Dictionary<string, List<string>> CodesInFiles()
    {
        var found = new Dictionary<string, List<string>>();
        var files = Directory.EnumerateFiles(Repository.PathOf("Anemos.Sdk"), "*.*", SearchOption.AllDirectories)
            .Concat(Directory.EnumerateFiles(Repository.PathOf("samples"), "*.sh", SearchOption.AllDirectories))
            .Concat(Directory.EnumerateFiles(Repository.PathOf("samples"), "*.proj", SearchOption.AllDirectories))
            .Concat(Directory.EnumerateFiles(Repository.PathOf("eng"), "*.sh"))
            .Where(f => !f.Contains("/bin/") && !f.Contains("/obj/") && !f.Contains("/.deps/"));
        foreach (string file in files)
        {
            string text = File.ReadAllText(file);
            foreach (Match match in Regex.Matches(text, @"(?:Code=""|error |DISK_ERROR=""|\bfail ""|_mi_fail |_mi_usage )(ANEMOS\d{4})"))
            {
                string code = match.Groups[1].Value;
                if (!found.TryGetValue(code, out var list)) found[code] = list = [];
                list.Add(Path.GetRelativePath(Repository.Root, file));
            }
        }
        return found;
    }

    [Fact]
    public void TaskCodesAreUniqueAndWellFormed()
    {
        var diagnostics = TaskDiagnostics();
        Assert.All(diagnostics, d => Assert.Matches("^ANEMOS[0-5][0-9]{3}$", d.Code));
        var duplicates = diagnostics.GroupBy(d => d.Code).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        Assert.Empty(duplicates);
    }

    [Fact]
    public void CodesRaisedInFilesAreNotTaskCodes()
    {
        var taskCodes = TaskDiagnostics().Select(d => d.Code).ToHashSet();
        // A code and its text live in one place: the targets or a task, never both.
        var clashes = CodesInFiles().Keys.Where(taskCodes.Contains).ToList();
        Assert.Empty(clashes);
    }

    [Fact]
    public void EveryCodeIsDocumentedAndEveryDocumentedCodeExists()
    {
        string errors = File.ReadAllText(Repository.PathOf("docs", "errors.md"));
        var documented = Code.Matches(errors).Select(m => m.Value).ToHashSet();
        var used = TaskDiagnostics().Select(d => d.Code).Concat(CodesInFiles().Keys).Concat(HelperCodeList()).ToHashSet();
        Assert.Empty(used.Except(documented).Order());
        Assert.Empty(documented.Except(used).Order());
    }

    [Fact]
    public void MessagesSayWhatToDo()
    {
        // Every message is a sentence with advice, not just a symptom: at least two clauses.
        Assert.All(TaskDiagnostics(), d => Assert.True(d.Message.Count(c => c is '.' or ';' or ':') >= 2, d.Code + ": " + d.Message));
    }
}
