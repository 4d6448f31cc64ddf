using System.Globalization;
using Anemos.Core;
using Anemos.Core.Initramfs;
using Anemos.Core.Manifest;
using Microsoft.Build.Framework;

namespace Anemos.Tasks;

/// <summary>
/// Assembles a host's deploy initramfs (base bytes untouched and copied by the kernel, padding,
/// overlay; the hash resumed from the base's kept state, so only the host's own bytes are hashed) and
/// writes the manifest that names every byte by sha256, plus the one-line build summary.
/// </summary>
public sealed class AssembleAnemosInitramfs : AnemosTask
{
    [Required] public string HostName { get; set; } = "";
    [Required] public string KernelFile { get; set; } = "";
    [Required] public string BaseFile { get; set; } = "";
    [Required] public string PayloadFile { get; set; } = "";
    [Required] public string OverlayFile { get; set; } = "";
    [Required] public string OutputFile { get; set; } = "";
    [Required] public string ManifestFile { get; set; } = "";
    [Required] public string SummaryFile { get; set; } = "";
    [Required] public string SdkVersion { get; set; } = "";
    public string? KernelUrl { get; set; }
    public string? BaseUrl { get; set; }
    public string? CommandLine { get; set; }
    /// <summary>AnemosOverlayCompression as the targets validated and normalised it (ANEMOS0004), for the manifest.</summary>
    [Required] public string OverlayCompression { get; set; } = "";

    protected override void ExecuteCore()
    {
        var kernel = DigestSidecar.Read(KernelFile, CancellationToken);
        var @base = DigestSidecar.Read(BaseFile, CancellationToken);
        var payload = DigestSidecar.Read(PayloadFile, CancellationToken);
        var overlay = DigestSidecar.Read(OverlayFile, CancellationToken);

        var baseState = MidstateSidecar.Read(BaseFile, @base, CancellationToken);
        var initramfs = InitramfsLayout.AssembleFile(BaseFile, baseState, [OverlayFile], OutputFile, CancellationToken);
        DigestSidecar.Write(OutputFile, initramfs);

        var manifest = new AnemosManifest
        {
            Host = HostName,
            SdkVersion = SdkVersion,
            Kernel = ManifestArtifact.From(kernel, NullIfEmpty(KernelUrl)),
            Base = ManifestArtifact.From(@base, NullIfEmpty(BaseUrl)),
            Payload = ManifestArtifact.From(payload),
            Overlay = ManifestArtifact.From(overlay),
            Initramfs = ManifestArtifact.From(initramfs),
            OverlayCompression = OverlayCompression,
            CommandLine = DeployInitContract.CommandLine.Compose(CommandLine),
        };
        AtomicFile.WriteIfDifferent(ManifestFile, System.Text.Encoding.UTF8.GetBytes(manifest.ToJson()));

        string summary = string.Create(CultureInfo.InvariantCulture,
            $"{HostName}: payload {ByteSize.Format(payload.Size)}, initramfs {ByteSize.Format(initramfs.Size)}, sha256 {initramfs.ShortSha256}");
        AtomicFile.WriteIfDifferent(SummaryFile, System.Text.Encoding.UTF8.GetBytes(summary + "\n"));
    }

    static string? NullIfEmpty(string? text) => string.IsNullOrWhiteSpace(text) ? null : text.Trim();

}
