using Anemos.Core.Hashing;
using Anemos.Core.Manifest;
using Microsoft.Build.Framework;

namespace Anemos.Tasks;

/// <summary>
/// A deploy from artifacts made elsewhere (AnemosNoBuild, e.g. a CI job's downloads): before
/// anything is sent, every file the deploy would ship must be the one the host's manifest names.
/// </summary>
public sealed class VerifyAnemosArtifacts : AnemosTask
{
    [Required] public string HostName { get; set; } = "";
    [Required] public string ManifestFile { get; set; } = "";
    [Required] public string KernelFile { get; set; } = "";
    [Required] public string BaseFile { get; set; } = "";
    [Required] public string OverlayFile { get; set; } = "";

    protected override void ExecuteCore()
    {
        if (!File.Exists(ManifestFile)) throw new AnemosException(Diagnostics.ArtifactsMissing, HostName, ManifestFile);
        AnemosManifest manifest;
        try
        {
            manifest = AnemosManifest.Parse(File.ReadAllText(ManifestFile));
        }
        catch (InvalidDataException e)
        {
            throw new AnemosException(Diagnostics.ArtifactTampered, HostName, "manifest", ManifestFile, e.Message) { File = ManifestFile };
        }
        if (!string.Equals(manifest.Host, HostName, StringComparison.OrdinalIgnoreCase))
            throw new AnemosException(Diagnostics.ArtifactTampered, HostName, "manifest", ManifestFile, $"it is host '{manifest.Host}''s manifest") { File = ManifestFile };

        foreach (var (name, path, expected) in new[] { ("kernel", KernelFile, manifest.Kernel), ("base", BaseFile, manifest.Base), ("overlay", OverlayFile, manifest.Overlay) })
        {
            if (!File.Exists(path)) throw new AnemosException(Diagnostics.ArtifactsMissing, HostName, path);
            var actual = FileDigest.OfFile(path, CancellationToken);
            if (actual.Sha256 != expected.Sha256 || actual.Size != expected.Size)
                LogDiagnostic(Diagnostics.ArtifactTampered, path, 0, HostName, name, path, $"it has sha256 {actual.Sha256} ({actual.Size} bytes), the manifest names {expected.Sha256} ({expected.Size} bytes)");
        }
        if (!Log.HasLoggedErrors)
            Log.LogMessage(MessageImportance.High, $"  deploy {HostName}: artifacts proven against {Path.GetFileName(ManifestFile)} (kernel, base, overlay); nothing was rebuilt");
    }
}
