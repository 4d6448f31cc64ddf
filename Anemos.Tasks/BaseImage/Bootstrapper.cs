namespace Anemos.Tasks.BaseImage;

/// <summary>
/// An IMGBUILD target a base image can install: the tools its tree must hold (each looked for in
/// usr/sbin, usr/bin, sbin and bin, links followed) and what to add to a base that lacks them. The
/// one owner of what each target needs: <see cref="FoundIn"/> detects with <see cref="Tools"/>,
/// <see cref="CheckAnemosBaseBootstrap"/> names <see cref="Hint"/>.
/// </summary>
public sealed record Bootstrapper(string Target, string[] Tools, string Hint)
{
    /// <summary>In the order base-image.json lists them.</summary>
    public static readonly IReadOnlyList<Bootstrapper> All =
    [
        new("alpine", ["apk"],
            "an apk binary as an AnemosBaseFile, e.g. apk.static from Alpine's apk-tools-static package with TargetPath usr/sbin/apk and Mode 0755"),
        new("arch", ["pacstrap", "pacman"],
            "the Debian packages pacman-package-manager, arch-install-scripts and archlinux-keyring (with their libraries and bash) to the base's AnemosRootfs, so that it has usr/bin/pacstrap and usr/bin/pacman"),
        new("debian", ["mmdebstrap", "apt-get", "gpgv"],
            "the Debian packages mmdebstrap, apt, gpgv and debian-archive-keyring (with their libraries, perl-base and the perl modules mmdebstrap loads, as samples/installer/fetch-debian-packages.sh takes them) to the base's AnemosRootfs, so that it has usr/bin/mmdebstrap, apt-get and gpgv"),
    ];

    /// <summary>The targets <paramref name="tree"/> can install: each bootstrapper whose tools are all there.</summary>
    public static IEnumerable<string> FoundIn(BaseImageTree tree) => All.Where(b => b.Tools.All(tree.HasTool)).Select(b => b.Target);

    /// <summary>What to add for <paramref name="target"/>; for a target computed at run time (null), any bootstrapper.</summary>
    public static string HintFor(string? target) =>
        All.FirstOrDefault(b => b.Target == target)?.Hint
        ?? "a bootstrapper for the target it computes (mmdebstrap with apt and gpgv, pacstrap and pacman, or apk)";
}
