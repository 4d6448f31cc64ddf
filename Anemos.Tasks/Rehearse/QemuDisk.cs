namespace Anemos.Tasks.Rehearse;

/// <summary>
/// A raw disk image on its own virtio-blk PCI device. A <see cref="Serial"/> gives it the stable
/// identity a server's disk has (/dev/disk/by-id/virtio-SERIAL), which the helper and the deploy
/// init find it by.
/// </summary>
public sealed record QemuDisk(string File)
{
    public string? Serial { get; init; }
    /// <summary>QEMU's cache mode, e.g. unsafe for scratch images whose flushes need not reach this machine's disk.</summary>
    public string? Cache { get; init; }
    /// <summary>The image stays as it is; the VM's writes go to a temporary overlay.</summary>
    public bool Snapshot { get; init; }
    /// <summary>The firmware boots this disk first.</summary>
    public int? BootIndex { get; init; }

    /// <summary>The drive and its device; <paramref name="index"/> names the drive (disk0, disk1, …).</summary>
    public IEnumerable<string> Arguments(int index)
    {
        string id = "disk" + index.ToString(System.Globalization.CultureInfo.InvariantCulture);
        string drive = $"file={File},format=raw,if=none,id={id}"
            + (Cache is null ? "" : ",cache=" + Cache)
            + (Snapshot ? ",snapshot=on" : "");
        string device = $"virtio-blk-pci,drive={id}"
            + (Serial is null ? "" : ",serial=" + Serial)
            + (BootIndex is { } boot ? ",bootindex=" + boot.ToString(System.Globalization.CultureInfo.InvariantCulture) : "");
        return ["-drive", drive, "-device", device];
    }
}
