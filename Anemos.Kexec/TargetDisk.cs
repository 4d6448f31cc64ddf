using Anemos.Core.Protocol;

namespace Anemos.Kexec;

/// <summary>
/// A host's TargetDisk by kernel name (/dev/sda) is a name of the running system: the deploy kernel
/// may name the disks in another order, so that name could be the data disk there. At stage the
/// helper describes the disk the name means now (serial, wwid, partition table id, size, as for the
/// boot disk), and the deploy init takes the disk with that identity (docs/deploy-init.md).
/// </summary>
public static class TargetDiskReader
{
    /// <summary>The /anemos/target-disk text for <paramref name="path"/>; ANEMOS5020 when it is no whole, identifiable disk here.</summary>
    public static string Describe(SystemFiles files, string path)
    {
        string name = path.StartsWith("/dev/", StringComparison.Ordinal) ? path["/dev/".Length..] : "";
        if (name.Length == 0 || name.Contains('/') || name is "." or "..")
            throw Refused(path, "is not a kernel name such as /dev/sda (a /dev/disk/by-id/NAME is resolved by the deploy init itself)");
        if (!files.Exists($"/sys/block/{name}"))
            throw Refused(path, files.Exists($"/sys/class/block/{name}/partition")
                ? "names a partition on the running system; name the whole disk"
                : "is no disk on the running system");
        var disk = BootDiskReader.Describe(files, name);
        if (!disk.Identifiable)
            throw Refused(path, "has no serial, wwid or partition table id on the running system, so the deploy kernel could not tell it from the other disks; name it by /dev/disk/by-id/NAME, or give it a partition table");
        return disk.ToBootDiskFile();
    }

    static HelperException Refused(string path, string why) =>
        new(HelperCodes.TargetDiskUnknown, $"TargetDisk {path} {why}. Nothing was staged.");
}
