using System.Text;
using Anemos.Tests.Infrastructure;

namespace Anemos.Tests.Init;

/// <summary>
/// The deploy init's choice of the install disk (choose_install_disk in anemos-init), run by the
/// guest's own busybox against fake /sys trees and disk images with real partition tables from
/// sfdisk: TargetDisk (a path, or a /dev/disk/by-id name resolved without udev), the captured
/// boot disk, the only disk; and every refusal with its code. The VM tests prove the same in a kernel.
/// </summary>
public sealed class InstallDiskChoiceTests : IDisposable
{
    readonly string _root = TestProject.NewDirectory();
    readonly string _applets;

    public InstallDiskChoiceTests()
    {
        Directory.CreateDirectory(Path.Combine(_root, "sys", "block"));
        Directory.CreateDirectory(Path.Combine(_root, "dev"));
        // The guest's busybox, its applets alone on PATH: what the init has in the initramfs.
        _applets = GuestBusybox.InstallApplets(Path.Combine(_root, "applets"));
    }

    public void Dispose() { try { Directory.Delete(_root, recursive: true); } catch (IOException) { } }

    void Write(string path, string text) => Write(path, Encoding.Latin1.GetBytes(text));

    void Write(string path, byte[] bytes)
    {
        string full = Path.Combine(_root, path.TrimStart('/'));
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        File.WriteAllBytes(full, bytes);
    }

    /// <summary>A disk in the fake /sys (8 MiB) with an image of it in the fake /dev, blank or partitioned by sfdisk.</summary>
    void Disk(string name, string? serial = null, string? wwid = null, string? sfdiskScript = null, long sectors = 16384, bool serialOnDevice = false)
    {
        Write($"/sys/block/{name}/size", $"{sectors}\n");
        Write($"/sys/block/{name}/queue/logical_block_size", "512\n");
        if (serial is not null) Write(serialOnDevice ? $"/sys/block/{name}/device/serial" : $"/sys/block/{name}/serial", serial + "\n");
        if (wwid is not null) Write($"/sys/block/{name}/device/wwid", wwid + "\n");
        string image = Path.Combine(_root, "dev", name);
        using (var file = File.Create(image)) file.SetLength(sectors * 512);
        if (sfdiskScript is not null)
        {
            var sfdisk = ProcessRunner.Run("sfdisk", ["--quiet", image], standardInput: Encoding.UTF8.GetBytes(sfdiskScript));
            Assert.True(sfdisk.ExitCode == 0, sfdisk.ToString());
        }
    }

    sealed record Choice(string Disk, string Why, string Error, string Output);

    Choice Choose(string targetDisk = "", string? bootDisk = null, string? targetDiskFile = null)
    {
        string bootFile = Path.Combine(_root, "boot-disk"), targetFile = Path.Combine(_root, "target-disk");
        if (bootDisk is not null) File.WriteAllText(bootFile, bootDisk);
        else File.Delete(bootFile);
        if (targetDiskFile is not null) File.WriteAllText(targetFile, targetDiskFile);
        else File.Delete(targetFile);
        string init = GuestBusybox.Init;
        var result = ProcessRunner.Run(Path.Combine(_applets, "sh"),
            ["-c", """. "$0"; choose_install_disk "$1" "$2" "$3"; echo "status=$?"; echo "disk=$INSTALL_DISK"; echo "why=$INSTALL_WHY"; echo "error=$DISK_ERROR" """, init, targetDisk, bootFile, targetFile],
            environment: new Dictionary<string, string?>
            {
                ["PATH"] = _applets,
                ["ANEMOS_INIT_FUNCTIONS"] = "1",
                ["ANEMOS_SYSFS"] = Path.Combine(_root, "sys"),
                ["ANEMOS_DEVFS"] = Path.Combine(_root, "dev"),
                ["ANEMOS_DISK_SETTLE"] = "0",
            });
        Assert.True(result.ExitCode == 0, result.ToString());
        var values = result.StandardOutput.Split('\n').Where(l => l.Contains('=')).ToDictionary(l => l[..l.IndexOf('=')], l => l[(l.IndexOf('=') + 1)..]);
        Assert.True(values.ContainsKey("status"), result.ToString());
        var choice = new Choice(values["disk"], values["why"], values["error"], result.Output);
        Assert.True((values["status"] == "0") == (choice.Disk.Length > 0) && (choice.Disk.Length > 0) != (choice.Error.Length > 0), result.ToString());
        return choice;
    }

    static void Refused(Choice choice, string code)
    {
        Assert.True(choice.Disk.Length == 0 && choice.Error.StartsWith(code + ": ", StringComparison.Ordinal), choice.Output);
    }

    [Fact]
    public void ResolvesByIdNamesAgainstSerialsAndWwids()
    {
        Disk("vda", serial: "anemos-disk0");
        Disk("vdb", serial: "anemos-disk1");
        Disk("nvme0n1", serial: "S4EWNX0R123456      ", wwid: "eui.0025388b91b0a0ee", serialOnDevice: true);
        // A SATA disk: no serial file, the serial is in the Unit Serial Number page; a NAA wwid.
        Disk("sda", wwid: "naa.5002538e40a1b2c3");
        Write("/sys/block/sda/device/vpd_pg80", [0x00, 0x80, 0x00, 0x14, .. Encoding.ASCII.GetBytes("     S3Z9NB0K123456A")]);

        var virtio = Choose("/dev/disk/by-id/virtio-anemos-disk1");
        Assert.Equal("/dev/vdb", virtio.Disk);
        Assert.Equal("TargetDisk /dev/disk/by-id/virtio-anemos-disk1, serial anemos-disk1", virtio.Why);
        Assert.Equal("/dev/nvme0n1", Choose("/dev/disk/by-id/nvme-Samsung_SSD_970_EVO_Plus_1TB_S4EWNX0R123456").Disk);
        Assert.Equal("/dev/nvme0n1", Choose("/dev/disk/by-id/nvme-eui.0025388b91b0a0ee").Disk);
        Assert.Equal("/dev/sda", Choose("/dev/disk/by-id/ata-Samsung_SSD_860_EVO_500GB_S3Z9NB0K123456A").Disk);
        Assert.Equal("/dev/sda", Choose("/dev/disk/by-id/scsi-SATA_Samsung_SSD_860_S3Z9NB0K123456A").Disk);
        var wwn = Choose("/dev/disk/by-id/wwn-0x5002538E40A1B2C3");
        Assert.Equal("/dev/sda", wwn.Disk);
        Assert.Equal("TargetDisk /dev/disk/by-id/wwn-0x5002538E40A1B2C3, serial S3Z9NB0K123456A", wwn.Why);

        // The serial must be the name's end, not any part of it.
        Refused(Choose("/dev/disk/by-id/virtio-anemos-disk1x"), "ANEMOS3120");
        Refused(Choose("/dev/disk/by-id/virtio-anemos-disk"), "ANEMOS3120");
        Assert.Contains("vda (serial anemos-disk0, 8388608 bytes)", Choose("/dev/disk/by-id/virtio-nothing").Error);
        Refused(Choose("/dev/disk/by-id/virtio-anemos-disk1-part2"), "ANEMOS3126");
        Write("/sys/block/vdc/size", "16384\n");
        Write("/sys/block/vdc/serial", "anemos-disk1\n");
        Refused(Choose("/dev/disk/by-id/virtio-anemos-disk1"), "ANEMOS3123");
    }

    [Fact]
    public void APlainTargetDiskIsTakenAsItIsWhenItExists()
    {
        Disk("sda");
        Disk("sdb");
        var chosen = Choose("/dev/sdb", "# Anemos boot disk, format 1\nptuuid 01020304\n");
        Assert.Equal("/dev/sdb", chosen.Disk);
        Assert.Equal("TargetDisk", chosen.Why);
        var missing = Choose("/dev/sdz");
        Refused(missing, "ANEMOS3120");
        Assert.Contains("TargetDisk /dev/sdz does not exist", missing.Error);
        Refused(Choose("/dev/disk/by-uuid/0a1b"), "ANEMOS3120");
    }

    [Fact]
    public void ATargetDiskByKernelNameIsTheDiskWithTheIdentityTheHelperFoundUnderThatName()
    {
        // The old system called the disk with serial DISK-B "sda"; this kernel names the disks in another order.
        Disk("sda", serial: "DISK-A");
        Disk("sdb", serial: "DISK-B");
        const string described = "# Anemos boot disk, format 1\ndevice sda\nserial DISK-B\nsize 8388608\n";

        var chosen = Choose("/dev/sda", targetDiskFile: described);
        Assert.Equal("/dev/sdb", chosen.Disk);
        Assert.Equal("TargetDisk /dev/sda as the old system named it, serial DISK-B", chosen.Why);

        // Gone, or of another size: refused, never the disk that now has the name.
        var gone = Choose("/dev/sda", targetDiskFile: described.Replace("DISK-B", "DISK-C", StringComparison.Ordinal));
        Refused(gone, "ANEMOS3122");
        Assert.Contains("the TargetDisk /dev/sda as the old system named it (serial DISK-C, 8388608 bytes) is none of the disks present", gone.Error);
        Assert.EndsWith("name the disk by /dev/disk/by-id/NAME", gone.Error);
        Refused(Choose("/dev/sda", targetDiskFile: described.Replace("8388608", "4096", StringComparison.Ordinal)), "ANEMOS3122");
        Refused(Choose("/dev/sda", targetDiskFile: "# Anemos boot disk, format 2\n"), "ANEMOS3125");
        // Without the helper's description (a rehearsal, whose names are the VM's own) the name is taken as it is.
        Assert.Equal("/dev/sda", Choose("/dev/sda").Disk);
    }

    [Fact]
    public void FindsTheBootDiskBySerialThenWwidThenPartitionTableWithItsSize()
    {
        Disk("vda", sfdiskScript: "label: dos\nlabel-id: 0x5a5b1c2d\n,4M,L\n,,L\n");
        Disk("vdb", sfdiskScript: "label: gpt\nlabel-id: 0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0\n,2M\n,,\n");
        Disk("vdc", serial: "anemos-disk2", sfdiskScript: "label: dos\nlabel-id: 0x01020304\n,,L\n");

        var bySerial = Choose(bootDisk: "# Anemos boot disk, format 1\ndevice sdc\nserial anemos-disk2\nptuuid 5a5b1c2d\nsize 8388608\n");
        Assert.Equal("/dev/vdc", bySerial.Disk);
        Assert.Equal("boot disk, serial anemos-disk2", bySerial.Why);
        // The ids as blkid prints PTUUID, read by dd and od from the disk.
        var msdos = Choose(bootDisk: "# Anemos boot disk, format 1\ndevice sda\nptuuid 5a5b1c2d\nsize 8388608\n");
        Assert.Equal("/dev/vda", msdos.Disk);
        Assert.Equal("boot disk, ptuuid 5a5b1c2d", msdos.Why);
        Assert.Equal("/dev/vdb", Choose(bootDisk: "# Anemos boot disk, format 1\nptuuid 0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0\n").Disk);
        // A serial the deploy kernel does not show falls back to the partition table.
        Assert.Equal("/dev/vda", Choose(bootDisk: "# Anemos boot disk, format 1\nserial gone\nptuuid 5a5b1c2d\n").Disk);

        var otherSize = Choose(bootDisk: "# Anemos boot disk, format 1\nptuuid 5a5b1c2d\nsize 4096\n");
        Refused(otherSize, "ANEMOS3122");
        Assert.Contains("is none of the disks present", otherSize.Error);
        Refused(Choose(bootDisk: "# Anemos boot disk, format 1\nserial elsewhere\n"), "ANEMOS3122");
        Refused(Choose(bootDisk: "# Anemos boot disk, format 1\ndevice sda\nsize 8388608\n"), "ANEMOS3125");
        Refused(Choose(bootDisk: "serial anemos-disk2\n"), "ANEMOS3125");

        // A clone of vda's table without serials: never a guess.
        File.Copy(Path.Combine(_root, "dev", "vda"), Path.Combine(_root, "dev", "vdd"));
        Write("/sys/block/vdd/size", "16384\n");
        Refused(Choose(bootDisk: "# Anemos boot disk, format 1\nptuuid 5a5b1c2d\n"), "ANEMOS3123");
    }

    [Fact]
    public void WithNothingToGoByOnlyASingleDiskIsChosen()
    {
        Refused(Choose(), "ANEMOS3124");
        Disk("vda");
        // Not disks: loop, optical, device-mapper, md, zram devices, and an empty one.
        foreach (string other in new[] { "loop0", "sr0", "dm-0", "md127", "zram0" }) Disk(other);
        Write("/sys/block/vdz/size", "0\n");
        var only = Choose();
        Assert.Equal("/dev/vda", only.Disk);
        Assert.Equal("the only disk", only.Why);

        Disk("vdb");
        var several = Choose();
        Refused(several, "ANEMOS3121");
        Assert.Equal("ANEMOS3121: several disks (vda (8388608 bytes), vdb (8388608 bytes)) and neither TargetDisk nor a captured boot disk: set TargetDisk on the host", several.Error);
    }
}
