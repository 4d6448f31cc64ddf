using System.Text.RegularExpressions;
using Anemos.Core;
using Anemos.Tasks.Imgbuild;
using Microsoft.Build.Framework;

namespace Anemos.Tasks;

/// <summary>
/// Checks an IMGBUILD before anything is packed: its shell syntax (with the system's sh -n where
/// one exists, and always with our own reader) and the settings makeimg reads: target,
/// debian_suite, format, hostconf and packages. Each finding is coded and carries the line. A host
/// deploys onto a disk, so formats that make a tarball or a folder (tar, dir) are refused.
/// </summary>
public sealed partial class ValidateImgbuild : AnemosTask
{
    [Required] public string File { get; set; } = "";

    /// <summary>The shell used for a syntax check; empty to rely on our reader alone.</summary>
    public string? Shell { get; set; } = "/bin/sh";

    [GeneratedRegex(@"line (\d+)|:\s*(\d+):")]
    private static partial Regex ShellErrorLine();

    protected override void ExecuteCore()
    {
        string text = System.IO.File.ReadAllText(File);
        ImgbuildDocument document;
        try
        {
            document = ImgbuildDocument.Parse(text);
        }
        catch (ShellSyntaxException e)
        {
            // Our reader names the line where an unclosed quote or block opens; a shell names where it noticed.
            Error(Diagnostics.ImgbuildSyntax, e.Line, e.Message);
            return;
        }
        if (CheckWithShell() is false) return;
        CheckSettings(document);
    }

    /// <summary>Runs sh -n; false when the shell found an error (already logged), null when no shell could run.</summary>
    bool? CheckWithShell()
    {
        if (string.IsNullOrEmpty(Shell) || !System.IO.File.Exists(Shell)) return null;
        ChildResult result;
        try
        {
            result = ChildProcess.Run(Shell, ["-n", File], cancellationToken: CancellationToken);
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
        if (result.ExitCode == 0) return true;
        string errors = result.Errors;

        string first = errors.Split('\n', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault()?.Trim() ?? "syntax error";
        var match = ShellErrorLine().Match(first);
        int line = match.Success ? int.Parse(match.Groups[1].Success ? match.Groups[1].Value : match.Groups[2].Value) : 0;
        string message = first.StartsWith(File, StringComparison.Ordinal) ? first[File.Length..].TrimStart(':', ' ') : first;
        Error(Diagnostics.ImgbuildSyntax, line, $"{Path.GetFileName(Shell)} -n says: {message}");
        return false;
    }

    void CheckSettings(ImgbuildDocument document)
    {
        foreach (var group in document.Assignments.GroupBy(a => a.Name).Where(g => g.Count() > 1 && IsKnownSetting(g.Key)))
            Error(Diagnostics.ImgbuildDuplicateSetting, group.Last().Line, group.Key, group.First().Line);

        var target = Literal(document, "target");
        if (document.Setting("target") is null)
            Error(Diagnostics.ImgbuildNoTarget, 0);
        else if (target is not null && !ImgbuildRules.Targets.Contains(target.Value))
            Error(Diagnostics.ImgbuildBadTarget, target.Line, target.Value);

        var suite = document.Setting("debian_suite");
        if (suite is not null && target is not null && target.Value != "debian")
            Error(Diagnostics.ImgbuildSuiteWithoutDebian, suite.Line, target.Value);

        // arch_mirror (the engine's extension): a literal value is checked as the engine checks it
        // (ANEMOS2259), a computed one (${MIRROR:-…}) only at install time.
        var archMirror = document.Setting("arch_mirror");
        if (archMirror is not null && target is not null && target.Value != "arch")
            Error(Diagnostics.ImgbuildArchMirrorWithoutArch, archMirror.Line, target.Value);
        else if (archMirror is { Expansion: null } && archMirror.Value.Length > 0
                 && !ImgbuildRules.ArchMirrorSchemes.Any(scheme => archMirror.Value.StartsWith(scheme, StringComparison.Ordinal)))
            Error(Diagnostics.ImgbuildArchMirrorNotUrl, archMirror.Line, archMirror.Value);

        if (document.Setting("format") is null)
            Error(Diagnostics.ImgbuildNoFormat, 0);
        else if (Literal(document, "format") is { } format)
            CheckFormat(format, document);

        if (Literal(document, "hostconf") is { } hostconf)
            CheckHostconf(hostconf);

        var packages = document.Setting("packages");
        if (packages is null || (packages.Expansion is null && packages.Value.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Length == 0))
            Error(Diagnostics.ImgbuildNoPackages, packages?.Line ?? 0);
        else if (packages.Expansion is not null)
            Error(Diagnostics.ImgbuildRuntimeValue, packages.Line, "packages", packages.Expansion);
    }

    static bool IsKnownSetting(string name) => name is "target" or "debian_suite" or "arch_mirror" or "format" or "hostconf" or "packages";

    /// <summary>The setting when its value is literal; a computed value gets a warning and no further check.</summary>
    ImgbuildSetting? Literal(ImgbuildDocument document, string name)
    {
        var setting = document.Setting(name);
        if (setting?.Expansion is null) return setting;
        Error(Diagnostics.ImgbuildRuntimeValue, setting.Line, name, setting.Expansion);
        return null;
    }

    void CheckFormat(ImgbuildSetting format, ImgbuildDocument document)
    {
        string[] words = format.Value.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        int line = format.Line;
        if (words.Length == 0)
        {
            Error(Diagnostics.ImgbuildNoFormat, line);
            return;
        }
        switch (words[0])
        {
            case "raw":
                if (words.Length > 4) { Error(Diagnostics.ImgbuildBadFormat, line, format.Value, "raw takes at most a size, a partition table and a file system"); break; }
                if (words.Length > 1 && (!ImgbuildRules.Size().IsMatch(words[1]) || words[1].TrimStart('0').Length == 0 || !char.IsDigit(words[1].TrimStart('0').FirstOrDefault('x'))))
                    Error(Diagnostics.ImgbuildBadSize, line, words[1]);
                if (words.Length > 2 && !ImgbuildRules.PartitionTables.Contains(words[2]))
                    Error(Diagnostics.ImgbuildBadPartitionTable, line, words[2]);
                if (words.Length > 3 && !ImgbuildRules.FileSystems.Contains(words[3]))
                    Error(Diagnostics.ImgbuildBadFileSystem, line, words[3]);
                break;
            case "tar":
                if (words.Length != 2) { Error(Diagnostics.ImgbuildBadFormat, line, format.Value, "tar takes exactly one compression"); break; }
                if (!ImgbuildRules.TarCompressions.Contains(words[1]))
                    Error(Diagnostics.ImgbuildBadTarCompression, line, words[1]);
                else
                    Error(Diagnostics.ImgbuildFormatNotDeployable, line, format.Value, "a tarball");
                break;
            case "dir":
                if (words.Length != 1) Error(Diagnostics.ImgbuildBadFormat, line, format.Value, "dir takes no arguments");
                else Error(Diagnostics.ImgbuildFormatNotDeployable, line, format.Value, "a folder");
                break;
            case "custom":
                if (words.Length != 1) { Error(Diagnostics.ImgbuildBadFormat, line, format.Value, "custom takes no arguments"); break; }
                foreach (string function in new[] { "setup", "cleanup" })
                    if (!document.Functions.ContainsKey(function))
                        Error(Diagnostics.ImgbuildCustomNeedsFunctions, line, function);
                break;
            default:
                Error(Diagnostics.ImgbuildBadFormat, line, format.Value, $"'{words[0]}' is not a format");
                break;
        }
    }

    void CheckHostconf(ImgbuildSetting hostconf)
    {
        foreach (string entry in hostconf.Value.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
        {
            if (entry == ImgbuildRules.HostconfKeyring) continue;
            int equals = entry.IndexOf('=');
            string key = equals > 0 ? entry[..equals] : "";
            if (!ImgbuildRules.HostconfKeys.Contains(key))
            {
                Error(Diagnostics.ImgbuildBadHostconfEntry, hostconf.Line, entry);
                continue;
            }
            string value = entry[(equals + 1)..];
            string? problem = key switch
            {
                "hostname" when !ImgbuildRules.Hostname().IsMatch(value) || value.Length > 253 => "use DNS labels of letters, digits and '-'",
                "timezone" when !ImgbuildRules.Timezone().IsMatch(value) => "use an IANA zone such as Europe/Berlin or UTC",
                "locale" when !ImgbuildRules.Locale().IsMatch(value) => "use a locale such as en_US.UTF-8",
                "keymap" when !ImgbuildRules.Keymap().IsMatch(value) => "use a keymap name such as us or de-latin1",
                _ => null,
            };
            if (problem is not null) Error(Diagnostics.ImgbuildBadHostconfValue, hostconf.Line, key, value, problem);
        }
    }

    void Error(Diagnostic diagnostic, int line, params object?[] arguments) => LogDiagnostic(diagnostic, File, line, arguments);
}
