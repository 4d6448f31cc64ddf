namespace Anemos.Core.Protocol;

/// <summary>
/// The helper's state folder (`--state`, AnemosHelperStateDirectory): what anemos-kexec keeps there
/// and the deploy reaches over ssh. Paths are relative to the folder, '/'-separated (both sides run
/// them on Linux); the helper joins them with Path.Combine, the deploy with <see cref="On"/>.
/// docs/helper.md describes the folder.
/// </summary>
public static class HelperStateLayout
{
    /// <summary>The state folder when the project and the command line name none.</summary>
    public const string DefaultDirectory = "/var/lib/anemos";

    /// <summary>Proven files, each named by its sha256; kept across deploys so a redeploy uploads only what changed.</summary>
    public const string Cache = "cache/sha256";
    /// <summary>Which cache entries were hashed already, and at what size and time (CacheProof).</summary>
    public const string CacheProofs = "cache/proof";
    /// <summary>What `stage` assembled and proved; `boot` loads only this.</summary>
    public const string Staged = "staged";
    /// <summary>Written last by `stage`: without it nothing is staged.</summary>
    public const string StagedState = Staged + "/state.json";
    /// <summary>The manifest `stage` proved the staged initramfs against.</summary>
    public const string StagedManifest = Staged + "/manifest.json";
    /// <summary>Where the deploy uploads the artifacts and manifest `stage` reads (removed after a good stage).</summary>
    public const string Upload = "upload";
    /// <summary>Downloads in progress (kept to resume) and other half-written files; `gc` empties it.</summary>
    public const string Temporary = "tmp";
    /// <summary>The folder of the installed helper (and of a new one while it is proven, beside it).</summary>
    public const string HelperFolder = "bin";
    /// <summary>The helper as the deploy installs it.</summary>
    public const string Helper = HelperFolder + "/anemos-kexec";
    /// <summary>`boot`'s reply, written as it hands over, read back by the deploy after the reboot.</summary>
    public const string BootResult = "boot.json";
    /// <summary>`boot`'s progress, whose tail explains a handover that did not come back.</summary>
    public const string BootLog = "boot.log";

    /// <summary>A path of the layout in a state folder on the host, as the deploy names it in a remote command.</summary>
    public static string On(string stateDirectory, string relativePath) => stateDirectory + "/" + relativePath;
}
