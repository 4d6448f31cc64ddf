using Anemos.Core.Initramfs;
using Microsoft.Build.Framework;

namespace Anemos.Tasks;

/// <summary>
/// Checks, for one host, that every <c>*.makeimg.template</c> in the payload names only variables
/// that host defines (its metadata, or what the deploy init and makeimg export), so an undefined
/// one is a build error at file:line instead of a failed install.
/// </summary>
public sealed class CheckAnemosTemplates : AnemosTask
{
    [Required] public string HostName { get; set; } = "";
    [Required] public string HostVariablesFile { get; set; } = "";
    [Required] public ITaskItem[] PayloadFiles { get; set; } = [];

    protected override void ExecuteCore()
    {
        var defined = new HashSet<string>(DeployInitContract.DeployEnvironmentNames, StringComparer.Ordinal);
        foreach (string line in File.ReadLines(HostVariablesFile))
        {
            int equals = line.IndexOf('=');
            if (equals > 0 && ShellQuoting.IsIdentifier(line[..equals])) defined.Add(line[..equals]);
        }

        foreach (var file in PayloadFiles)
        {
            string path = file.GetMetadata("FullPath") is { Length: > 0 } full ? full : file.ItemSpec;
            if (!path.EndsWith(MakeimgTemplate.Suffix, StringComparison.Ordinal) || !File.Exists(path)) continue;
            using var reader = new StreamReader(path);
            foreach (var reference in MakeimgTemplate.References(reader))
            {
                if (!defined.Contains(reference.Name))
                    LogDiagnostic(Diagnostics.TemplateUndefinedVariable, path, reference.Line, reference.Name, HostName);
            }
        }
    }
}
