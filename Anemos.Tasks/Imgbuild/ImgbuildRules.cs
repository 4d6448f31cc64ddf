using System.Text.RegularExpressions;

namespace Anemos.Tasks.Imgbuild;

/// <summary>The values makeimg accepts, as docs/imgbuild.md lists them.</summary>
public static partial class ImgbuildRules
{
    public static readonly string[] Targets = ["arch", "alpine", "debian"];
    public static readonly string[] PartitionTables = ["msdos", "gpt"];
    public static readonly string[] FileSystems = ["ext2", "ext3", "ext4", "btrfs", "xfs", "vfat", "f2fs"];
    public static readonly string[] TarCompressions = ["none", "gzip", "bzip2", "xz", "zstd"];
    public static readonly string[] HostconfKeys = ["hostname", "timezone", "locale", "keymap"];
    /// <summary>A bare hostconf word: install the base's pacman keyring or apk keys into the image.</summary>
    public const string HostconfKeyring = "keyring";
    /// <summary>How an arch_mirror may begin (the engine's read step refuses others with ANEMOS2259).</summary>
    public static readonly string[] ArchMirrorSchemes = ["http://", "https://", "file://"];

    /// <summary>The engine's setting that names a target's mirror; null for a target without one (alpine: its repositories file).</summary>
    public static string? MirrorSetting(string? target) => target switch
    {
        "debian" => "debian_mirror",
        "arch" => "arch_mirror",
        _ => null,
    };

    /// <summary>
    /// A size GNU truncate takes as an absolute size: digits, then K M G T P or E with optional B or iB.
    /// Not Z or Y, which truncate takes too: a zettabyte is over 2^63 bytes, more than the engine's shell
    /// arithmetic (and any disk) holds, so the engine refuses them and the build says so first.
    /// The engine's _mi_size_bytes is the other side of this rule; ImgbuildSizeRuleTests proves they agree.
    /// </summary>
    public const string SizeUnits = "KMGTPE";

    [GeneratedRegex("^[0-9]+([" + SizeUnits + "](iB|B)?)?$")]
    public static partial Regex Size();

    [GeneratedRegex("^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$")]
    public static partial Regex Hostname();

    [GeneratedRegex("^(UTC|[A-Z][A-Za-z_-]+(/[A-Za-z0-9_+-]+){1,2})$")]
    public static partial Regex Timezone();

    [GeneratedRegex("^[a-z]{2,3}(_[A-Z]{2})?(\\.[A-Za-z0-9-]+)?(@[a-z]+)?$|^C(\\.UTF-8)?$|^POSIX$")]
    public static partial Regex Locale();

    [GeneratedRegex("^[A-Za-z0-9_.-]+$")]
    public static partial Regex Keymap();
}
