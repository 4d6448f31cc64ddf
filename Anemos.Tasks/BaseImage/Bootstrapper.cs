namespace Anemos.Tasks.BaseImage;

/// <summary>
/// An IMGBUILD target a base image can install: the tools its tree must hold (each looked for in
/// usr/sbin, usr/bin, sbin and bin, links followed), the keyring the engine verifies the mirror
/// with when the IMGBUILD brings no keys/, and what to add to a base that lacks them. The one
/// owner of what each target needs: <see cref="FoundIn"/> detects with <see cref="Tools"/> and
/// <see cref="Keyring"/>, <see cref="CheckAnemosBaseBootstrap"/> names <see cref="Hint"/>.
/// </summary>
/// <param name="Keyring">
/// The keyring file the engine uses when the IMGBUILD has no keys/ (null: apk's keys are the base's
/// /etc/apk/keys or keys/, and apk refuses an unsigned index by itself). Without it a base bootstraps
/// the target only for an IMGBUILD with keys/*.gpg: a signature is never skipped (issue 28).
/// </param>
public sealed record Bootstrapper(string Target, string[] Tools, string? Keyring, string Hint)
{
    /// <summary>In the order base-image.json lists them.</summary>
    public static readonly IReadOnlyList<Bootstrapper> All =
    [
        new("alpine", ["apk"], null,
            "an apk binary as an AnemosBaseFile, e.g. apk.static from Alpine's apk-tools-static package with TargetPath usr/sbin/apk and Mode 0755"),
        new("arch", ["pacstrap", "pacman"], "usr/share/keyrings/archlinux.gpg",
            "the Debian packages pacman-package-manager, arch-install-scripts and archlinux-keyring (with their libraries and bash) to the base's AnemosRootfs, so that it has usr/bin/pacstrap and usr/bin/pacman"),
        new("debian", ["mmdebstrap", "apt-get", "gpgv"], "usr/share/keyrings/debian-archive-keyring.gpg",
            "the Debian packages mmdebstrap, apt, gpgv and debian-archive-keyring (with their libraries, perl-base and the perl modules mmdebstrap loads, as samples/installer/fetch-debian-packages.sh takes them) to the base's AnemosRootfs, so that it has usr/bin/mmdebstrap, apt-get and gpgv"),
    ];

    /// <summary>The targets <paramref name="tree"/> can install from any IMGBUILD: each bootstrapper whose tools and keyring are all there.</summary>
    public static IEnumerable<string> FoundIn(BaseImageTree tree) =>
        All.Where(b => b.Tools.All(tree.HasTool) && (b.Keyring is null || tree.HasFile(b.Keyring))).Select(b => b.Target);

    /// <summary>The targets whose tools <paramref name="tree"/> has but not their keyring: only an IMGBUILD with keys/*.gpg installs them.</summary>
    public static IEnumerable<string> FoundWithoutKeyringIn(BaseImageTree tree) =>
        All.Where(b => b.Tools.All(tree.HasTool) && b.Keyring is not null && !tree.HasFile(b.Keyring)).Select(b => b.Target);

    /// <summary>What to add for <paramref name="target"/>; for a target computed at run time (null), any bootstrapper.</summary>
    public static string HintFor(string? target) =>
        All.FirstOrDefault(b => b.Target == target)?.Hint
        ?? "a bootstrapper for the target it computes (mmdebstrap with apt and gpgv, pacstrap and pacman, or apk)";
}
