using Anemos.Tasks.BaseImage;
using Anemos.Tasks.Imgbuild;
using Microsoft.Build.Framework;

namespace Anemos.Tasks;

/// <summary>
/// Whether a host's base image can install its payload. An IMGBUILD's literal target must be one
/// the base bootstraps; a target computed at run time needs a base that bootstraps at least one.
/// Otherwise a deploy would stop before installing anything and leave the server at a console
/// nobody may reach: ANEMOS3013 names the target, the base and what to add.
/// </summary>
public sealed class CheckAnemosBaseBootstrap : AnemosTask
{
    /// <summary>The base image project, as the host names it (for the message).</summary>
    [Required] public string BaseProject { get; set; } = "";
    /// <summary>The base's base-image.json.</summary>
    [Required] public string DescriptionFile { get; set; } = "";
    /// <summary>The payload's IMGBUILD (a `deploy` program needs no bootstrapper: the targets skip the check).</summary>
    [Required] public string Imgbuild { get; set; } = "";

    /// <summary>True when the base cannot install the payload (and ANEMOS3013 was logged).</summary>
    [Output] public bool CannotInstall { get; set; }

    protected override void ExecuteCore()
    {
        var description = BaseImageDescription.Read(DescriptionFile);
        string? target = LiteralTarget(Imgbuild);
        // keys/*.gpg next to the IMGBUILD is what the engine verifies the mirror with in place of the base's keyring.
        var keyless = HasKeys(Imgbuild) ? description.BootstrappersWithoutKeyring : [];
        var installs = description.Bootstrappers.Concat(keyless).ToList();
        CannotInstall = target is null ? installs.Count == 0 : !installs.Contains(target, StringComparer.Ordinal);
        if (!CannotInstall) return;
        if (target is not null && description.BootstrappersWithoutKeyring.Contains(target, StringComparer.Ordinal))
        {
            LogDiagnostic(Diagnostics.BaseWithoutKeyring, target, BaseProject, "/" + Bootstrapper.All.First(b => b.Target == target).Keyring);
            return;
        }
        string bootstraps = installs.Count == 0 ? "nothing" : string.Join(", ", installs);
        LogDiagnostic(Diagnostics.BaseCannotBootstrap, target ?? "(computed at run time)", BaseProject, bootstraps, Bootstrapper.HintFor(target));
    }

    static bool HasKeys(string imgbuild)
    {
        string keys = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(imgbuild))!, "keys");
        return Directory.Exists(keys) && Directory.EnumerateFiles(keys, "*.gpg").Any();
    }

    /// <summary>The IMGBUILD's target when literal and known; null when computed at run time (ValidateImgbuild reports a bad one).</summary>
    static string? LiteralTarget(string imgbuild)
    {
        try
        {
            return ImgbuildDocument.Parse(File.ReadAllText(imgbuild)).LiteralTarget;
        }
        catch (ShellSyntaxException)
        {
            return null; // ANEMOS2001, from ValidateImgbuild
        }
    }
}
