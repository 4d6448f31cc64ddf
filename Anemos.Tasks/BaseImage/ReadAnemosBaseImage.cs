using System.Globalization;
using Anemos.Tasks.BaseImage;
using Microsoft.Build.Framework;

namespace Anemos.Tasks;

/// <summary>
/// What a built base image's base-image.json says, for MSBuild: the targets it bootstraps (the
/// Bootstrappers metadata of GetAnemosBaseImage) and, with <see cref="BaseFile"/>, the one line
/// every base build prints: where the base is, its sha256, its size compressed and unpacked, what
/// it bootstraps.
/// </summary>
public sealed class ReadAnemosBaseImage : AnemosTask
{
    [Required] public string DescriptionFile { get; set; } = "";
    /// <summary>The base image the description is of; when set, its summary line is logged.</summary>
    public string? BaseFile { get; set; }

    [Output] public string[] Bootstrappers { get; set; } = [];

    protected override void ExecuteCore()
    {
        var description = BaseImageDescription.Read(DescriptionFile);
        Bootstrappers = [.. description.Bootstrappers];
        if (string.IsNullOrEmpty(BaseFile)) return;
        string bootstraps = description.Bootstrappers.Count == 0 ? "none" : string.Join(' ', description.Bootstrappers);
        if (description.BootstrappersWithoutKeyring.Count > 0)
            bootstraps += $"; with the IMGBUILD's keys/ only (no keyring in the base): {string.Join(' ', description.BootstrappersWithoutKeyring)}";
        Log.LogMessage(MessageImportance.High,
            $"  anemos base image: {BaseFile} ({description.Sha256[..12]}) {MiB(description.Size)} MiB, {MiB(description.UnpackedSize)} MiB unpacked; bootstraps: {bootstraps}");
    }

    static string MiB(long bytes) => Math.Round(bytes / 1048576.0, 1).ToString(CultureInfo.InvariantCulture);
}
