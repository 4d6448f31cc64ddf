using Anemos.Core;
using Anemos.Core.Protocol;
using Anemos.Kexec;
using Anemos.Tests.Infrastructure;

namespace Anemos.Tests.Kexec;

/// <summary>The facts parsers against captured /proc, /sys and iproute2 samples.</summary>
public sealed class FactsTests : IDisposable
{
    readonly string _root = TestProject.NewDirectory();

    public void Dispose() { try { Directory.Delete(_root, recursive: true); } catch (IOException) { } }

    void Write(string path, string text)
    {
        string full = Path.Combine(_root, path.TrimStart('/'));
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        File.WriteAllText(full, text);
    }

    const string MemInfo = """
        MemTotal:        2030188 kB
        MemFree:          112220 kB
        MemAvailable:    1516904 kB
        Buffers:           52932 kB
        HugePages_Total:       0
        """;

    [Fact]
    public void ReadsACapturedSystem()
    {
        Write("/proc/meminfo", MemInfo);
        Write("/proc/sys/kernel/osrelease", "6.1.0-26-cloud-amd64\n");
        Write("/proc/sys/kernel/kexec_load_disabled", "0\n");
        Write("/sys/kernel/kexec_loaded", "0\n");
        Write("/sys/kernel/security/lockdown", "[none] integrity confidentiality\n");
        Write("/proc/cmdline", "BOOT_IMAGE=/boot/vmlinuz-6.1.0-26-cloud-amd64 root=PARTUUID=1234 ro console=tty0 console=ttyS0,115200 earlyprintk=ttyS0,115200\n");
        Write("/boot/config-6.1.0-26-cloud-amd64", "CONFIG_KEXEC=y\nCONFIG_KEXEC_FILE=y\nCONFIG_KEXEC_SIG=y\n# CONFIG_KEXEC_SIG_FORCE is not set\n");
        Directory.CreateDirectory(Path.Combine(_root, "run/systemd/system"));
        string state = Path.Combine(_root, "var/lib/anemos");
        Directory.CreateDirectory(Path.Combine(state, "cache/sha256"));
        File.WriteAllText(Path.Combine(state, "cache/sha256", new string('a', 64)), "x");

        var facts = FactsReader.Collect(new SystemFiles(_root), state, NetworkSnapshot.Empty);

        Assert.Equal("6.1.0-26-cloud-amd64", facts.KernelRelease);
        Assert.Equal(2030188L * 1024, facts.MemTotalBytes);
        Assert.Equal(1516904L * 1024, facts.MemAvailableBytes);
        Assert.False(facts.Kexec.LoadDisabled);
        Assert.False(facts.Kexec.Loaded);
        Assert.True(facts.Kexec.FileLoadConfigured);
        Assert.False(facts.Kexec.SignatureRequired);
        Assert.Equal("none", facts.Lockdown);
        Assert.Equal("bios", facts.Firmware);
        Assert.False(facts.SecureBoot);
        Assert.Equal("systemd", facts.InitSystem);
        Assert.Equal(["console=tty0", "console=ttyS0,115200"], facts.ConsoleArguments);
        Assert.Equal([new string('a', 64)], facts.CachedSha256);
        Assert.Equal("glibc", facts.Libc);
        Assert.Equal(HelperVersion.Current, facts.HelperVersion);
    }

    /// <summary>A minimal 64-bit little-endian ELF header with one program header: PT_INTERP naming <paramref name="loader"/>.</summary>
    static byte[] ElfWithInterpreter(string loader) => TestElf.Header(loader: loader);

    [Fact]
    public void TheCLibraryIsWhatBinShsLoaderSaysNotWhichLoadersLieAround()
    {
        // Issue 27: a Debian host with the musl package has /lib/ld-musl-x86_64.so.1 beside glibc's loader.
        Write("/lib/ld-musl-x86_64.so.1", "musl's loader\n");
        Directory.CreateDirectory(Path.Combine(_root, "bin"));
        File.Copy("/bin/sh", Path.Combine(_root, "bin", "sh")); // this machine's, a glibc program
        Assert.StartsWith("/lib64/ld-linux-x86-64.so.2", ElfInterpreter.Of(File.ReadAllBytes("/bin/sh")));
        Assert.Equal("glibc", SystemLibc.Of(new SystemFiles(_root)));

        File.WriteAllBytes(Path.Combine(_root, "bin", "sh"), ElfWithInterpreter("/lib/ld-musl-x86_64.so.1"));
        Assert.Equal("musl", SystemLibc.Of(new SystemFiles(_root)));

        // A static /bin/sh names no loader: the loaders that are there decide, as before.
        File.WriteAllText(Path.Combine(_root, "bin", "sh"), "#!/not/an/elf\n");
        Assert.Null(ElfInterpreter.Of(File.ReadAllBytes(Path.Combine(_root, "bin", "sh"))));
        Assert.Equal("musl", SystemLibc.Of(new SystemFiles(_root)));
        File.Delete(Path.Combine(_root, "lib", "ld-musl-x86_64.so.1"));
        Assert.Equal("glibc", SystemLibc.Of(new SystemFiles(_root)));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(63)]
    [InlineData(100)]
    public void AnElfCutShortNamesNoLoader(int length)
    {
        Assert.Null(ElfInterpreter.Of(ElfWithInterpreter("/lib/ld-musl-x86_64.so.1").AsSpan(0, length)));
    }

    const string SecureBootVariable = "sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c";

    [Theory]
    // efivarfs: four bytes of attributes (NV, BS, RT: 0x06), then the variable's one byte.
    [InlineData(new byte[] { 6, 0, 0, 0, 1 }, true)]
    [InlineData(new byte[] { 6, 0, 0, 0, 0 }, false)]
    [InlineData(null, null)] // UEFI, but efivarfs not mounted: unknown, not "off"
    public void UnderUefiReadsTheFirmwaresSecureBootVariable(byte[]? variable, bool? expected)
    {
        Directory.CreateDirectory(Path.Combine(_root, "sys/firmware/efi/efivars"));
        if (variable is not null) File.WriteAllBytes(Path.Combine(_root, SecureBootVariable), variable);

        var facts = FactsReader.Collect(new SystemFiles(_root), Path.Combine(_root, "state"), NetworkSnapshot.Empty);

        Assert.Equal("uefi", facts.Firmware);
        Assert.Equal(expected, facts.SecureBoot);
    }

    [Theory]
    [InlineData("[none] integrity confidentiality", "none")]
    [InlineData("none [integrity] confidentiality", "integrity")]
    [InlineData("none integrity [confidentiality]\n", "confidentiality")]
    [InlineData("garbage", null)]
    public void ReadsTheLockdownState(string text, string? expected) => Assert.Equal(expected, FactsReader.ParseLockdown(text));

    [Fact]
    public void TellsBusyboxAndOpenRcApart()
    {
        Write("/proc/1/comm", "init\n");
        Write("/bin/busybox", "");
        Assert.Equal("busybox", FactsReader.InitSystem(new SystemFiles(_root)));
        Write("/sbin/openrc", "");
        Assert.Equal("openrc", FactsReader.InitSystem(new SystemFiles(_root)));
    }

    // Captured from `ip -j addr show`, `ip -j -4 route show`, `ip -j -6 route show` on a VPS with a
    // static /32 address whose gateway is outside its subnet, plus a DHCP interface.
    const string Addresses = """
        [{"ifindex":1,"ifname":"lo","flags":["LOOPBACK","UP","LOWER_UP"],"mtu":65536,"link_type":"loopback","address":"00:00:00:00:00:00","addr_info":[{"family":"inet","local":"127.0.0.1","prefixlen":8,"scope":"host","label":"lo"}]},
         {"ifindex":2,"ifname":"ens3","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],"mtu":1500,"link_type":"ether","address":"fa:16:3e:12:34:56","addr_info":[{"family":"inet","local":"203.0.113.10","prefixlen":32,"scope":"global","label":"ens3"},{"family":"inet6","local":"2001:db8:10::10","prefixlen":64,"scope":"global"},{"family":"inet6","local":"fe80::f816:3eff:fe12:3456","prefixlen":64,"scope":"link"}]},
         {"ifindex":3,"ifname":"ens4","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],"mtu":1500,"link_type":"ether","address":"fa:16:3e:ab:cd:ef","addr_info":[{"family":"inet","local":"10.0.0.5","prefixlen":24,"scope":"global","dynamic":true,"label":"ens4","valid_life_time":86000}]},
         {"ifindex":4,"ifname":"ens5","flags":["BROADCAST","MULTICAST"],"mtu":1500,"link_type":"ether","address":"fa:16:3e:00:00:05","addr_info":[]}]
        """;
    const string Routes4 = """[{"dst":"default","gateway":"203.0.113.1","dev":"ens3","flags":["onlink"]},{"dst":"10.0.0.0/24","dev":"ens4","protocol":"kernel","scope":"link","prefsrc":"10.0.0.5","flags":[]},{"dst":"192.168.50.0/24","gateway":"10.0.0.1","dev":"ens4","flags":[]}]""";
    const string Routes6 = """[{"dst":"2001:db8:10::/64","dev":"ens3","protocol":"kernel","metric":256,"flags":[]},{"dst":"default","gateway":"fe80::1","dev":"ens3","metric":1024,"flags":[]}]""";

    [Fact]
    public void TurnsAnIproute2SnapshotIntoNetworkConf()
    {
        var snapshot = NetworkSnapshot.Parse(Addresses, Routes4, Routes6, "# generated\nnameserver 9.9.9.9\nnameserver 127.0.0.53\nnameserver 2620:fe::fe\nsearch example.org\n");
        Assert.Equal(["ens3", "ens4"], snapshot.Interfaces.Select(i => i.Name));
        Assert.True(snapshot.Interfaces[1].Dhcp);
        Assert.Equal("""
            # Anemos network snapshot, format 1
            link fa:16:3e:12:34:56 ens3
            addr fa:16:3e:12:34:56 203.0.113.10/32
            addr fa:16:3e:12:34:56 2001:db8:10::10/64
            link fa:16:3e:ab:cd:ef ens4
            dhcp fa:16:3e:ab:cd:ef
            route default 203.0.113.1 fa:16:3e:12:34:56
            route default fe80::1 fa:16:3e:12:34:56
            dns 9.9.9.9
            dns 2620:fe::fe

            """, snapshot.ToNetworkConf());
    }

    // The same host as above, as the kernel's own tables show it (busybox's `ip` prints no JSON).
    void WriteKernelTables()
    {
        foreach (var (name, index, type, mac) in new[] { ("lo", 1, 772, "00:00:00:00:00:00"), ("ens3", 2, 1, "fa:16:3e:12:34:56"), ("ens4", 3, 1, "fa:16:3e:ab:cd:ef"), ("ens5", 4, 1, "fa:16:3e:00:00:05"), ("wg0", 5, 65534, "") })
        {
            Write($"/sys/class/net/{name}/ifindex", $"{index}\n");
            Write($"/sys/class/net/{name}/type", $"{type}\n");
            Write($"/sys/class/net/{name}/address", mac + "\n");
        }
        Write("/proc/net/route", """
            Iface	Destination	Gateway 	Flags	RefCnt	Use	Metric	Mask		MTU	Window	IRTT
            ens3	00000000	017100CB	0007	0	0	0	00000000	0	0	0
            ens4	0000000A	00000000	0001	0	0	0	00FFFFFF	0	0	0
            ens4	0032A8C0	0100000A	0003	0	0	0	00FFFFFF	0	0	0

            """);
        Write("/proc/net/if_inet6", """
            00000000000000000000000000000001 01 80 10 80       lo
            20010db8001000000000000000000010 02 40 00 80     ens3
            fe80000000000000f8163efffe123456 02 40 20 80     ens3
            20010db8002000000000000000000099 03 40 00 00     ens4

            """);
        Write("/proc/net/ipv6_route", """
            20010db8001000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     ens3
            00000000000000000000000000000000 00 00000000000000000000000000000000 00 fe800000000000000000000000000001 00000400 00000003 00000000 00000003     ens3
            00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo

            """);
    }

    [Fact]
    public void WithoutIproute2TheKernelTablesGiveTheSameAddressesAndRoutes()
    {
        WriteKernelTables();
        KernelIpv4Address[] ipv4 = [new("lo", "127.0.0.1", 8), new("ens3", "203.0.113.10", 32), new("ens4", "10.0.0.5", 24), new("ens4:1", "10.0.0.6", 24)];
        var snapshot = HostNetwork.FromKernelTables(new SystemFiles(_root), ipv4, "nameserver 9.9.9.9\nnameserver 127.0.0.53\n");
        // DHCP is not visible in these tables: ens4's leased address is brought back as a static one.
        Assert.Equal("""
            # Anemos network snapshot, format 1
            link fa:16:3e:12:34:56 ens3
            addr fa:16:3e:12:34:56 203.0.113.10/32
            addr fa:16:3e:12:34:56 2001:db8:10::10/64
            link fa:16:3e:ab:cd:ef ens4
            addr fa:16:3e:ab:cd:ef 10.0.0.5/24
            addr fa:16:3e:ab:cd:ef 10.0.0.6/24
            addr fa:16:3e:ab:cd:ef 2001:db8:20::99/64
            route default 203.0.113.1 fa:16:3e:12:34:56
            route 192.168.50.0/24 10.0.0.1 fa:16:3e:ab:cd:ef
            route default fe80::1 fa:16:3e:12:34:56
            dns 9.9.9.9

            """, snapshot.ToNetworkConf());
        Assert.False(snapshot.Interfaces[0].Addresses[1].Dynamic);
        Assert.True(snapshot.Interfaces[1].Addresses[2].Dynamic); // not IFA_F_PERMANENT: autoconfigured
    }

    [Fact]
    public void OnThisMachineTheKernelTablesAgreeWithIproute2()
    {
        var ip = (string[] arguments) =>
        {
            var result = ProcessRunner.Run("ip", arguments);
            Assert.True(result.ExitCode == 0, $"iproute2's ip is needed here (test.sh installs it): {result}");
            return result.Output;
        };
        var fromIp = NetworkSnapshot.Parse(ip(["-j", "addr", "show"]), ip(["-j", "-4", "route", "show"]), ip(["-j", "-6", "route", "show"]), null);
        var fromKernel = HostNetwork.FromKernelTables(new SystemFiles("/"), Native.Ipv4Addresses(), null);
        Assert.NotEmpty(fromKernel.Interfaces);
        string Addresses(NetworkSnapshot s) => string.Join("\n", s.Interfaces.Select(i => $"{i.Name} {i.Mac} " + string.Join(" ", i.Addresses.Select(a => $"{a.Address}/{a.Prefix}").Order())));
        string Routes(NetworkSnapshot s) => string.Join("\n", s.Routes.Select(r => $"{r.Destination} via {r.Gateway} dev {r.Interface}").Order());
        Assert.Equal(Addresses(fromIp), Addresses(fromKernel));
        Assert.Equal(Routes(fromIp), Routes(fromKernel));
    }

    [Fact]
    public void ReadsTheKernelsInitSizeFromARealBzImage()
    {
        string kernel = Path.Combine(Repository.DebianPackages, "vmlinuz");
        Assert.True(File.Exists(kernel), $"{kernel} is missing: ./build.sh fetches samples/base's packages");
        long? initSize = KernelImage.InitSize(kernel);
        Assert.NotNull(initSize);
        Assert.InRange(initSize!.Value, 16L << 20, 256L << 20);
        Write("/not-a-kernel", new string('x', 4096));
        Assert.Null(KernelImage.InitSize(Path.Combine(_root, "not-a-kernel")));
    }

    // ---- the boot disk: / → its block device → the whole disk → a stable identity ----

    /// <summary>A small disk image with a real partition table written by sfdisk, and what blkid says its PTUUID is.</summary>
    string PartitionedImage(string name, string script)
    {
        string image = Path.Combine(_root, "dev", name);
        Directory.CreateDirectory(Path.GetDirectoryName(image)!);
        using (var file = File.Create(image)) file.SetLength(8L * 1024 * 1024);
        var sfdisk = ProcessRunner.Run("sfdisk", ["--quiet", image], standardInput: System.Text.Encoding.UTF8.GetBytes(script));
        Assert.True(sfdisk.ExitCode == 0, sfdisk.ToString());
        return image;
    }

    static string BlkidPtUuid(string image)
    {
        var blkid = ProcessRunner.Run("blkid", "-p", "-o", "value", "-s", "PTUUID", image);
        Assert.True(blkid.ExitCode == 0, blkid.ToString());
        return blkid.StandardOutput.Trim();
    }

    /// <summary>/sys/block/DISK with dev, size and partitions PART (each with dev and partition).</summary>
    void FakeDisk(string disk, int major, int minor, long sectors, params string[] partitions)
    {
        Write($"/sys/block/{disk}/dev", $"{major}:{minor}\n");
        Write($"/sys/block/{disk}/size", $"{sectors}\n");
        Write($"/sys/block/{disk}/queue/logical_block_size", "512\n");
        for (int i = 0; i < partitions.Length; i++)
        {
            Write($"/sys/block/{disk}/{partitions[i]}/dev", $"{major}:{minor + i + 1}\n");
            Write($"/sys/block/{disk}/{partitions[i]}/partition", $"{i + 1}\n");
        }
    }

    static string MountInfo(string rootMajorMinor, string type, string source) => $"""
        22 28 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
        28 1 {rootMajorMinor} / / rw,relatime shared:1 - {type} {source} rw,errors=remount-ro
        29 28 8:17 / /home rw,relatime shared:2 - ext4 /dev/sdb1 rw
        24 22 0:6 / /sys/kernel/security rw,nosuid,nodev,noexec,relatime shared:8 - securityfs securityfs rw

        """;

    [Fact]
    public void FindsTheBootDiskOfARootPartitionWithItsSerialWwidAndMsdosId()
    {
        Write("/proc/self/mountinfo", MountInfo("8:2", "ext4", "/dev/sda2"));
        FakeDisk("sda", 8, 0, 16384, "sda1", "sda2");
        FakeDisk("sdb", 8, 16, 16384, "sdb1");
        Write("/sys/block/sda/device/serial", "S3Z9NB0K123456A     \n");
        Write("/sys/block/sda/device/wwid", "naa.5002538e40a1b2c3\n");
        Write("/sys/block/sdb/device/serial", "OTHER\n");
        string image = PartitionedImage("sda", "label: dos\nlabel-id: 0x5a5b1c2d\n,4M,L\n,,L\n");
        PartitionedImage("sdb", "label: dos\nlabel-id: 0x01020304\n,,L\n");

        var disk = BootDiskReader.Find(new SystemFiles(_root));

        Assert.NotNull(disk);
        Assert.Equal("sda", disk!.Device);
        Assert.Equal("sda2", disk.Via);
        Assert.Equal("S3Z9NB0K123456A", disk.Serial);
        Assert.Equal("naa.5002538e40a1b2c3", disk.Wwid);
        Assert.Equal("msdos", disk.PtType);
        Assert.Equal("5a5b1c2d", disk.PtUuid);
        Assert.Equal(BlkidPtUuid(image), disk.PtUuid);
        Assert.Equal(16384L * 512, disk.Size);
        Assert.Equal("""
            # Anemos boot disk, format 1
            device sda
            serial S3Z9NB0K123456A
            wwid naa.5002538e40a1b2c3
            ptuuid 5a5b1c2d
            size 8388608

            """, disk.ToBootDiskFile());
    }

    [Fact]
    public void ReadsTheGptDiskGuidAsBlkidPrintsIt()
    {
        Write("/proc/self/mountinfo", MountInfo("259:2", "ext4", "/dev/nvme0n1p2"));
        FakeDisk("nvme0n1", 259, 0, 16384, "nvme0n1p1", "nvme0n1p2");
        Write("/sys/block/nvme0n1/wwid", "eui.0025388b91b0a0ee\n");
        Write("/sys/block/nvme0n1/device/serial", "S4EWNX0R123456      \n");
        string image = PartitionedImage("nvme0n1", "label: gpt\nlabel-id: 0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0\n,2M\n,,\n");

        // As in sysfs: /sys/dev/block/MAJ:MIN links to the device's folder.
        Directory.CreateDirectory(Path.Combine(_root, "sys/devices/pci0000:00/nvme/nvme0/nvme0n1/nvme0n1p2"));
        Directory.CreateDirectory(Path.Combine(_root, "sys/dev/block"));
        File.CreateSymbolicLink(Path.Combine(_root, "sys/dev/block/259:2"), "../../devices/pci0000:00/nvme/nvme0/nvme0n1/nvme0n1p2");
        Write("/sys/block/nvme0n1/nvme0n1p2/dev", "259:99\n"); // only the link can lead to it

        var disk = BootDiskReader.Find(new SystemFiles(_root));

        Assert.NotNull(disk);
        Assert.Equal("nvme0n1", disk!.Device);
        Assert.Equal("nvme0n1p2", disk.Via);
        Assert.Equal("gpt", disk.PtType);
        Assert.Equal("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", disk.PtUuid);
        Assert.Equal(BlkidPtUuid(image), disk.PtUuid);
        Assert.Equal("eui.0025388b91b0a0ee", disk.Wwid);
        Assert.Equal("S4EWNX0R123456", disk.Serial);
    }

    [Fact]
    public void FollowsDeviceMapperDownToTheDiskAndStopsAtARaidOverTwoDisks()
    {
        // LVM on LUKS on a partition: dm-1 → dm-0 → vda3.
        Write("/proc/self/mountinfo", MountInfo("254:1", "ext4", "/dev/mapper/vg-root"));
        FakeDisk("vda", 252, 0, 20480, "vda1", "vda2", "vda3");
        FakeDisk("dm-0", 254, 0, 20000);
        FakeDisk("dm-1", 254, 1, 19000);
        Directory.CreateDirectory(Path.Combine(_root, "sys/block/dm-0/slaves/vda3"));
        Directory.CreateDirectory(Path.Combine(_root, "sys/block/dm-1/slaves/dm-0"));
        Write("/sys/block/vda/serial", "anemos-disk0\n");
        var disk = BootDiskReader.Find(new SystemFiles(_root));
        Assert.Equal("vda", disk?.Device);
        Assert.Equal("anemos-disk0", disk?.Serial);
        Assert.Null(disk?.PtUuid); // no image at /dev/vda: no partition table to read
        Assert.True(disk?.Identifiable);

        // md RAID1 over two disks: there is no one boot disk.
        Write("/proc/self/mountinfo", MountInfo("9:127", "ext4", "/dev/md127"));
        FakeDisk("vdb", 252, 16, 20480, "vdb1");
        FakeDisk("md127", 9, 127, 20000);
        Directory.CreateDirectory(Path.Combine(_root, "sys/block/md127/slaves/vda1"));
        Directory.CreateDirectory(Path.Combine(_root, "sys/block/md127/slaves/vdb1"));
        Assert.Null(BootDiskReader.Find(new SystemFiles(_root)));
    }

    [Fact]
    public void TakesTheSourceWhenTheRootHasAnAnonymousDeviceAndNothingInRam()
    {
        // btrfs reports 0:N in mountinfo; its source names the partition.
        Write("/proc/self/mountinfo", MountInfo("0:31", "btrfs", "/dev/vda2"));
        FakeDisk("vda", 252, 0, 20480, "vda1", "vda2");
        Write("/sys/block/vda/serial", "abc\n");
        Assert.Equal("vda", BootDiskReader.Find(new SystemFiles(_root))?.Device);

        // An initramfs or live system: / is in RAM.
        Write("/proc/self/mountinfo", MountInfo("0:1", "rootfs", "rootfs"));
        Assert.Null(BootDiskReader.Find(new SystemFiles(_root)));
        Write("/proc/self/mountinfo", "");
        Assert.Null(BootDiskReader.Find(new SystemFiles(_root)));
        Assert.Null(FactsReader.Collect(new SystemFiles(_root), Path.Combine(_root, "state"), NetworkSnapshot.Empty).BootDisk);
    }

    [Fact]
    public void ADiskWithoutATableOrIdentityIsNotIdentifiable()
    {
        Assert.Null(BootDiskReader.PartitionTable(new byte[8192]));
        Assert.Null(BootDiskReader.PartitionTable(null));
        Write("/proc/self/mountinfo", MountInfo("8:0", "ext4", "/dev/sda"));
        FakeDisk("sda", 8, 0, 16384);
        Write("/dev/sda", new string('\0', 8192));
        var disk = BootDiskReader.Find(new SystemFiles(_root));
        Assert.Equal("sda", disk?.Device);
        Assert.Null(disk?.Via);
        Assert.False(disk?.Identifiable);

        // A SATA disk shows its serial only in the Unit Serial Number VPD page.
        string page = Path.Combine(_root, "sys/block/sda/device/vpd_pg80");
        Directory.CreateDirectory(Path.GetDirectoryName(page)!);
        File.WriteAllBytes(page, [0x00, 0x80, 0x00, 0x14, .. System.Text.Encoding.ASCII.GetBytes("     S3Z9NB0K123456A")]);
        disk = BootDiskReader.Find(new SystemFiles(_root));
        Assert.Equal("S3Z9NB0K123456A", disk?.Serial);
        Assert.True(disk?.Identifiable);
    }

    [Fact]
    public void ATargetDiskByKernelNameIsDescribedByTheIdentityItHasOnTheRunningSystem()
    {
        FakeDisk("sda", 8, 0, 16384, "sda1");
        FakeDisk("sdb", 8, 16, 16384);
        FakeDisk("sdc", 8, 32, 16384);
        Write("/sys/class/block/sda1/partition", "1\n");
        Write("/sys/block/sdb/device/serial", "DATA-DISK-2\n");
        PartitionedImage("sda", "label: gpt\nlabel-id: 0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0\n,,L\n");
        var files = new SystemFiles(_root);

        Assert.Equal("# Anemos boot disk, format 1\ndevice sdb\nserial DATA-DISK-2\nsize 8388608\n", TargetDiskReader.Describe(files, "/dev/sdb"));
        Assert.Contains("ptuuid 0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0\n", TargetDiskReader.Describe(files, "/dev/sda"));

        // Every refusal is ANEMOS5020 and says nothing was staged.
        foreach (var (path, why) in new[]
        {
            ("/dev/sdz", "is no disk on the running system"),
            ("/dev/sda1", "names a partition on the running system"),
            ("/dev/sdc", "has no serial, wwid or partition table id"), // blank, no serial: nothing to find it by after the reboot
            ("/dev/disk/by-id/x", "is not a kernel name"),
            ("/dev/../etc", "is not a kernel name"),
        })
        {
            var refused = Assert.Throws<HelperException>(() => TargetDiskReader.Describe(files, path));
            Assert.Equal(HelperCodes.TargetDiskUnknown, refused.Code);
            Assert.Contains($"TargetDisk {path} {why}", refused.Message);
            Assert.EndsWith("Nothing was staged.", refused.Message);
        }
    }
}
