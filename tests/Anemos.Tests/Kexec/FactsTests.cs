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
        Assert.Equal("systemd", facts.InitSystem);
        Assert.Equal(["console=tty0", "console=ttyS0,115200"], facts.ConsoleArguments);
        Assert.Equal([new string('a', 64)], facts.CachedSha256);
        Assert.Equal("glibc", facts.Libc);
        Assert.Equal(HelperVersion.Current, facts.HelperVersion);
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
}
