using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using Anemos.Core.Protocol;

namespace Anemos.Kexec;

public static class BootDiskReader
{
    /// <summary>The whole disk under /, or null when it cannot be told (a root in RAM, a RAID over several disks, …).</summary>
    public static BootDiskFact? Find(SystemFiles files)
    {
        try { return FindOrThrow(files); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; } // facts say "unknown" rather than fail
    }

    static BootDiskFact? FindOrThrow(SystemFiles files)
    {
        // / → its MAJ:MIN → /sys/dev/block/MAJ:MIN (or a scan of /sys/block) → the whole disk.
        var root = RootMount(files.Read("/proc/self/mountinfo") ?? "");
        if (root is null) return null;
        string? block = BlockBySysDev(files, root.Value.MajorMinor) ?? BlockByNumber(files, root.Value.MajorMinor);
        if (block is null && root.Value.Source.StartsWith("/dev/", StringComparison.Ordinal))
            block = BlockByName(files, root.Value.Source["/dev/".Length..]); // btrfs and others report an anonymous 0:N
        if (block is null) return null;
        var (disk, via) = WholeDisk(files, block);
        if (disk is null) return null;
        return Describe(files, disk) with { Via = via };
    }

    /// <summary>The identity of one whole disk by its kernel name.</summary>
    public static BootDiskFact Describe(SystemFiles files, string disk)
    {
        string? serial = Attribute(files, disk, "serial") ?? UnitSerial(files.ReadHead($"/sys/block/{disk}/device/vpd_pg80", 260));
        string? wwid = Attribute(files, disk, "wwid");
        long? sectors = long.TryParse(files.Read($"/sys/block/{disk}/size")?.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out long s) ? s : null;
        int sectorSize = int.TryParse(files.Read($"/sys/block/{disk}/queue/logical_block_size")?.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int b) && b >= 512 ? b : 512;
        var table = PartitionTable(files.ReadHead($"/dev/{disk}", 2 * 4096), sectorSize);
        return new BootDiskFact
        {
            Device = disk,
            Serial = serial,
            Wwid = wwid,
            PtUuid = table?.PtUuid,
            PtType = table?.Type,
            Size = sectors * 512, // /sys/block/X/size counts 512-byte sectors whatever the device's own
        };
    }

    /// <summary>The mount of / in /proc/self/mountinfo (the last one: mounts stack): its MAJ:MIN and source.</summary>
    public static (string MajorMinor, string Source)? RootMount(string mountinfo)
    {
        (string, string)? found = null;
        foreach (string line in mountinfo.Split('\n'))
        {
            // ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER
            string[] fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            int separator = Array.IndexOf(fields, "-");
            if (fields.Length < 6 || separator < 6 || fields[4] != "/") continue;
            string source = separator + 2 < fields.Length ? fields[separator + 2] : "";
            found = (fields[2], source);
        }
        return found;
    }

    /// <summary>The block device /sys/dev/block/MAJ:MIN links to (…/block/sda/sda2 → sda2).</summary>
    static string? BlockBySysDev(SystemFiles files, string majorMinor)
    {
        if (majorMinor.StartsWith("0:", StringComparison.Ordinal)) return null;
        var link = new DirectoryInfo(files.PathOf($"/sys/dev/block/{majorMinor}"));
        if (!link.Exists) return null;
        string target = link.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? link.FullName;
        string name = Path.GetFileName(target.TrimEnd('/'));
        return name.Length > 0 && name != majorMinor ? name : null;
    }

    /// <summary>The block device (disk or partition) whose dev file holds MAJ:MIN: a scan of /sys/block.</summary>
    static string? BlockByNumber(SystemFiles files, string majorMinor)
    {
        if (majorMinor.StartsWith("0:", StringComparison.Ordinal)) return null;
        foreach (string disk in files.List("/sys/block"))
        {
            if (files.Read($"/sys/block/{disk}/dev")?.Trim() == majorMinor) return disk;
            foreach (string part in files.List($"/sys/block/{disk}"))
                if (files.Exists($"/sys/block/{disk}/{part}/partition") && files.Read($"/sys/block/{disk}/{part}/dev")?.Trim() == majorMinor)
                    return part;
        }
        return null;
    }

    static string? BlockByName(SystemFiles files, string name)
    {
        if (name.Contains('/')) name = name[(name.LastIndexOf('/') + 1)..];
        if (name.Length == 0) return null;
        if (files.Exists($"/sys/block/{name}")) return name;
        return files.List("/sys/block").Any(d => files.Exists($"/sys/block/{d}/{name}/partition")) ? name : null;
    }

    /// <summary>
    /// The whole disk a block device belongs to: a partition's parent; a dm or md device's
    /// `slaves`, followed down while they all lead to one disk.
    /// </summary>
    static (string? Disk, string? Via) WholeDisk(SystemFiles files, string block)
    {
        var path = new List<string>();
        string current = block;
        for (int depth = 0; depth < 8; depth++)
        {
            if (!files.Exists($"/sys/block/{current}"))
            {
                // A partition: its parent is the disk.
                string? parent = files.List("/sys/block").FirstOrDefault(d => files.Exists($"/sys/block/{d}/{current}/partition"));
                if (parent is null) return (null, null);
                path.Add(current);
                current = parent;
                continue;
            }
            var slaves = files.List($"/sys/block/{current}/slaves").ToList();
            if (slaves.Count == 0) return (current, path.Count == 0 ? null : string.Join(' ', path));
            // Every slave must lead to the same disk (LUKS or LVM on one disk); a RAID over several has no single boot disk.
            var disks = slaves.Select(s => WholeDisk(files, s).Disk).Distinct().ToList();
            if (disks.Count != 1 || disks[0] is null) return (null, null);
            path.Add(current);
            path.AddRange(slaves);
            return (disks[0], string.Join(' ', path));
        }
        return (null, null);
    }

    /// <summary>A SCSI or SATA disk's serial: the Unit Serial Number VPD page (0x80), text from byte 4.</summary>
    public static string? UnitSerial(byte[]? page)
    {
        if (page is not { Length: > 4 } || page[1] != 0x80) return null;
        string value = Encoding.ASCII.GetString(page, 4, page.Length - 4).Replace("\0", "").Trim();
        return value.Length == 0 ? null : value;
    }

    static string? Attribute(SystemFiles files, string disk, string name)
    {
        string? value = files.Read($"/sys/block/{disk}/{name}") ?? files.Read($"/sys/block/{disk}/device/{name}");
        value = value?.Trim().TrimEnd('\0').Trim();
        // A value with spaces inside is kept as the kernel gives it; an empty one says nothing.
        return string.IsNullOrEmpty(value) ? null : value;
    }

    /// <summary>
    /// The partition table's type and id from the disk's first sectors, as blkid reports PTUUID:
    /// gpt (the "EFI PART" header at LBA 1) → the disk GUID at header offset 56; msdos (0x55AA at
    /// 510) → the 32-bit disk signature at 440 as 8 lowercase hex digits. Null without a table.
    /// </summary>
    public static (string Type, string? PtUuid)? PartitionTable(byte[]? head, int sectorSize = 512)
    {
        if (head is null) return null;
        foreach (int lba1 in new[] { sectorSize, 512, 4096 }.Distinct())
        {
            if (head.Length >= lba1 + 72 && head.AsSpan(lba1, 8).SequenceEqual("EFI PART"u8))
                return ("gpt", new Guid(head.AsSpan(lba1 + 56, 16)).ToString("D"));
        }
        if (head.Length >= 512 && head[510] == 0x55 && head[511] == 0xAA)
        {
            uint signature = BinaryPrimitives.ReadUInt32LittleEndian(head.AsSpan(440, 4));
            return ("msdos", signature == 0 ? null : signature.ToString("x8", CultureInfo.InvariantCulture));
        }
        return null;
    }
}
