using System.Globalization;
using System.Text;
using Grammar = Anemos.Core.Initramfs.DeployInitContract.BootDiskGrammar;

namespace Anemos.Core.Protocol;

/// <summary>
/// The disk the running system booted from (the one holding /), with a stable identity the deploy
/// init can find it by when the kernel names disks differently (docs/helper.md, docs/deploy-init.md).
/// </summary>
public sealed record BootDiskFact
{
    /// <summary>The whole disk's kernel name under the running kernel (sda, vda, nvme0n1): informative only.</summary>
    public required string Device { get; init; }
    /// <summary>What held / when it was not the disk itself: a partition (sda2), or a dm/md device and what it sits on.</summary>
    public string? Via { get; init; }
    public string? Serial { get; init; }
    public string? Wwid { get; init; }
    /// <summary>The partition table's identity as blkid prints PTUUID: msdos 8 hex digits, gpt the disk GUID.</summary>
    public string? PtUuid { get; init; }
    /// <summary>msdos or gpt, when a partition table was read.</summary>
    public string? PtType { get; init; }
    public long? Size { get; init; }

    /// <summary>A serial, wwid or partition table id: without one the deploy init could not recognise the disk.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public bool Identifiable => Serial is not null || Wwid is not null || PtUuid is not null;

    /// <summary>The disk as /anemos/boot-disk: a comment line, then KEY VALUE lines (docs/overlay.md).</summary>
    public string ToBootDiskFile()
    {
        var text = new StringBuilder(Grammar.Header + "\n");
        text.Append($"{Grammar.Device} {Device}\n");
        if (Serial is not null) text.Append($"{Grammar.Serial} {Serial}\n");
        if (Wwid is not null) text.Append($"{Grammar.Wwid} {Wwid}\n");
        if (PtUuid is not null) text.Append($"{Grammar.PtUuid} {PtUuid}\n");
        if (Size is not null) text.Append(CultureInfo.InvariantCulture, $"{Grammar.Size} {Size}\n");
        return text.ToString();
    }
}
