using Microsoft.Build.Framework;

namespace Anemos.Tasks;

/// <summary>
/// Decides what the payload is, from the files it will hold (AnemosPayloadFile after any Remove),
/// never from what merely lies in the project folder: an IMGBUILD for makeimg, or a `deploy`
/// program. The one owner of the payload kind: validation, the overlay's host.env and the
/// deploy take it from here.
/// </summary>
public sealed class ResolveAnemosPayload : AnemosTask
{
    [Required] public string ProjectDirectory { get; set; } = "";
    [Required] public ITaskItem[] Files { get; set; } = [];

    /// <summary><c>imgbuild</c> or <c>deploy</c>.</summary>
    [Output] public string? Kind { get; set; }
    /// <summary>The full path of the IMGBUILD or of the deploy program.</summary>
    [Output] public string? EntryFile { get; set; }

    protected override void ExecuteCore()
    {
        string root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(ProjectDirectory));
        string? imgbuild = null, deploy = null;
        foreach (var item in Files)
        {
            string fullPath = Path.TrimEndingDirectorySeparator(Path.GetFullPath(item.GetMetadata("FullPath") is { Length: > 0 } f ? f : item.ItemSpec, root));
            if (Path.GetDirectoryName(fullPath) != root || !IsRegularFile(fullPath)) continue;
            switch (Path.GetFileName(fullPath))
            {
                case "IMGBUILD": imgbuild = fullPath; break;
                case "deploy": deploy = fullPath; break;
            }
        }

        if (imgbuild is not null && deploy is not null) throw new AnemosException(Diagnostics.AmbiguousPayload) { File = root };
        if (imgbuild is not null)
        {
            (Kind, EntryFile) = ("imgbuild", imgbuild);
            return;
        }
        if (deploy is null) throw new AnemosException(Diagnostics.NoPayload) { File = root };

        if (!OperatingSystem.IsWindows() && (File.GetUnixFileMode(deploy) & UnixFileMode.UserExecute) == 0)
            LogDiagnostic(Diagnostics.DeployNotExecutable, deploy, 0);
        if (!Anemos.Core.FileMagic.IsProgram(deploy)) LogDiagnostic(Diagnostics.DeployNotProgram, deploy, 1);
        (Kind, EntryFile) = ("deploy", deploy);
    }

    static bool IsRegularFile(string path) => File.Exists(path) && new FileInfo(path).LinkTarget is null;
}
