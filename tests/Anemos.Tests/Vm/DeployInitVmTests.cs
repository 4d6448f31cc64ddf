using System.Security.Cryptography;
using Anemos.Tests.Infrastructure;

namespace Anemos.Tests.Vm;

/// <summary>
/// The deploy init in a real kernel: samples/base (Debian's kernel, busybox) boots in QEMU under
/// TCG through `dotnet build -t:Rehearse`, runs a payload, and the disks are read from outside
/// with sfdisk and debugfs. Verdicts come from what the guest wrote and its result line, never
/// from QEMU's exit code; a failing test prints the console (it is in the build output).
/// </summary>
[EndToEnd(Needs.Qemu)]
public sealed class DeployInitVmTests(SampleBaseFixture fixture) : IClassFixture<SampleBaseFixture>
{
    static readonly string Tcg = "-p:AnemosRehearseAccelerator=tcg";

    TestProject HostProject(string name, string deploy, string extra = "", string hostMetadata = "", string root = "")
    {
        var project = TestProject.Create($$"""
            <Project Sdk="Anemos.Sdk">
              <ItemGroup>
                <ProjectReference Include="../base/base.proj" />
                <AnemosHost Include="vm" ROLE="test" {{hostMetadata}} />
              </ItemGroup>
              {{extra}}
            </Project>
            """, "host.proj", Path.Combine(root.Length > 0 ? root : fixture.Root, name));
        project.Environment["ANEMOS_DEBIAN_PACKAGES"] = Repository.DebianPackages;
        project.Write("deploy", deploy, executable: true);
        project.Write("files/etc/motd", "deployed by Anemos\n");
        project.Write("files/srv/www/index.html", "<h1>hello</h1>\n");
        return project;
    }

    static ProcessResult Rehearse(TestProject project, params string[] arguments) =>
        project.Build(["-t:Rehearse", "-p:Host=vm", Tcg, "-p:AnemosRehearseTimeout=240", .. arguments]);

    string Disk(TestProject project, string name = "disk0") => project.PathOf($"obj/anemos/rehearse/vm/{name}.img");

    const string Partitioner = """
        #!/bin/sh
        # Partitions the target disk (msdos), makes an ext2 file system and copies files/ into it.
        set -eu
        disk=$ANEMOS_TARGET_DISK
        printf 'o\nn\np\n1\n\n+24M\nn\np\n2\n\n\nw\n' | fdisk "$disk" >/dev/null
        i=0
        while [ ! -b "${disk}1" ] && [ "$i" -lt 20 ]; do sleep 1; i=$((i + 1)); done
        mke2fs -q -L root "${disk}1"
        mkdir -p /mnt/root
        mount -t ext2 "${disk}1" /mnt/root
        cp -a "$ANEMOS_WORK/files/." /mnt/root/
        echo "$ANEMOS_HOST $ROLE" >/mnt/root/etc/deployed-by
        umount /mnt/root
        echo "payload done"
        """;

    [Fact]
    public void APayloadPartitionsFormatsAndFillsTheDisk()
    {
        using var project = HostProject("partition", Partitioner, """
            <ItemGroup><AnemosRehearseDisk Include="disk0" Size="64M" /></ItemGroup>
            """);
        var result = Rehearse(project);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("ANEMOS-RESULT ok host=vm", result.Output);
        Assert.Contains("payload done", result.Output);

        var (label, partitions) = DiskImage.PartitionTable(Disk(project));
        Assert.Equal("dos", label);
        Assert.Equal(2, partitions.Count);
        Assert.Equal(24L * 1024 * 1024 / 512, partitions[0].Sectors);
        string root = DiskImage.ExtractPartition(Disk(project), 1);
        Assert.Equal("deployed by Anemos\n", DiskImage.ReadFile(root, "/etc/motd"));
        Assert.Equal("<h1>hello</h1>\n", DiskImage.ReadFile(root, "/srv/www/index.html"));
        Assert.Equal("vm test\n", DiskImage.ReadFile(root, "/etc/deployed-by"));
    }

    [Fact]
    public void AFailingPayloadStopsWithItsStepAndLeavesTheOtherPartitionAlone()
    {
        // A disk shaped like bitfehler.net's: partition 2 stands in for /home and holds data.
        string prepared = Path.Combine(fixture.Root, "home-disk.img");
        using (var file = File.Create(prepared)) file.SetLength(64L * 1024 * 1024);
        var partitioned = ProcessRunner.Run("sfdisk", ["--quiet", prepared], standardInput: "label: dos\n,24M,L\n,,L\n"u8.ToArray());
        Assert.True(partitioned.ExitCode == 0, partitioned.ToString());
        var home = DiskImage.PartitionTable(prepared).Partitions[1];
        byte[] homeBytes = RandomNumberGenerator.GetBytes((int)(home.Sectors * 512));
        using (var file = File.OpenWrite(prepared))
        {
            file.Seek(home.Start * 512, SeekOrigin.Begin);
            file.Write(homeBytes);
        }

        using var project = HostProject("failing", """
            #!/bin/sh
            set -eu
            mke2fs -q -L root "${ANEMOS_TARGET_DISK}1"
            echo "about to fail"
            exit 3
            """, $"""
            <ItemGroup><AnemosRehearseDisk Include="disk0" Size="64M" Source="{prepared}" /></ItemGroup>
            """);
        var result = Rehearse(project);
        Assert.True(result.ExitCode != 0, result.ToString());
        Assert.Contains("error ANEMOS3102", result.Output);
        Assert.Contains("at the deploy init's step 'run'", result.Output);
        Assert.Contains("ANEMOS-RESULT fail host=vm", result.Output);
        Assert.Contains("about to fail", result.Output);
        Assert.DoesNotContain("reboot: Restarting system", result.Output);
        Assert.DoesNotContain("anemos[finish]", result.Output);

        string disk = Disk(project);
        using var stream = File.OpenRead(disk);
        stream.Seek(home.Start * 512, SeekOrigin.Begin);
        byte[] after = new byte[homeBytes.Length];
        stream.ReadExactly(after);
        Assert.True(homeBytes.AsSpan().SequenceEqual(after), "the second partition changed");
    }

    /// <summary>
    /// A stand-in makeimg that keeps the engine's contract: it records how it was called, writes its
    /// steps into the step file, and either writes the record onto the --disk device or, when the
    /// IMGBUILD says so, fails at bootstrap with the engine's error line. The engine has its own tests.
    /// </summary>
    const string StandInMakeimg = """
        #!/bin/sh
        [ "$1" = --disk ] && [ "$3" = --step-file ] || { echo "makeimg: read: ANEMOS2200: unexpected arguments: $*" >&2; exit 2; }
        disk=$2 steps=$4
        echo read >"$steps"
        {
            echo "cwd=$(pwd)"
            echo "args=$*"
            echo "host=$ANEMOS_HOST role=$ROLE kind=$ANEMOS_PAYLOAD_KIND"
            echo "work=$ANEMOS_WORK secrets=$ANEMOS_SECRETS log=$ANEMOS_LOG"
            echo "install=$ANEMOS_INSTALL_DISK target=$ANEMOS_TARGET_DISK"
            echo "imgbuild=$(head -n 1 IMGBUILD)"
            echo "end"
        } >/tmp/record
        # The mirror the IMGBUILD would install from (the rehearsal's rehearse.env sets it).
        echo "mirror=${MIRROR:-none}"
        echo setup >"$steps"
        echo bootstrap >"$steps"
        if grep -q '^# fail at bootstrap' IMGBUILD; then
            echo "debootstrap: cannot reach the mirror"
            echo "makeimg: bootstrap: ANEMOS2299: debootstrap failed with status 1" >&2
            exit 1
        fi
        echo finish >"$steps"
        dd if=/tmp/record of="$disk" conv=notrunc 2>/dev/null
        sync
        """;

    (string Root, string Makeimg) ImgbuildRoot()
    {
        string root = Path.Combine(fixture.Root, "makeimg-root");
        if (!Directory.Exists(root)) SampleBaseFixture.CopyImgbuildBase(root);
        string makeimg = Path.Combine(root, "makeimg");
        File.WriteAllText(makeimg, StandInMakeimg);
        File.SetUnixFileMode(makeimg, (UnixFileMode)0x1ED);
        return (root, makeimg);
    }

    [Fact]
    public void AnImgbuildPayloadRunsMakeimgAsDocumented()
    {
        var (root, makeimg) = ImgbuildRoot();
        using var project = HostProject("imgbuild", "#!/bin/sh\n", """<ItemGroup><AnemosRehearseDisk Include="disk0" Size="64M" /></ItemGroup>""", root: root);
        File.Delete(project.PathOf("deploy"));
        project.Write("IMGBUILD", "target=debian\nformat=\"raw 1G msdos ext4\"\npackages=\"linux-image-amd64\"\n");
        // The stand-in engine writes a record, not a system: the rehearsal stops after the install.
        var result = Rehearse(project, $"-p:AnemosEngine={makeimg}", "-p:AnemosRehearseBootInstalled=false");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.DoesNotContain("ANEMOS3013", result.Output);
        // No debian_mirror: the engine's default, which the rehearsal cannot serve to the VM, is said up front.
        Assert.Contains("warning ANEMOS3145: Host 'vm' is rehearsed without a mirror: its debian_mirror is not set", result.Output);
        Assert.Contains("install disk: /dev/vda (boot disk, serial anemos-disk0)", result.Output);

        string record = DiskImage.ReadRecord(Disk(project));
        Assert.Equal("""
            cwd=/run/anemos/payload
            args=--disk /dev/vda --step-file /run/anemos/engine-step
            host=vm role=test kind=imgbuild
            work=/run/anemos/payload secrets=/anemos/secrets log=/run/anemos/deploy.log
            install=/dev/vda target=/dev/vda
            imgbuild=target=debian

            """, record);
    }

    [Fact]
    public void WithoutAnemosRehearseMirrorTheImgbuildsOwnMirrorIsServedAsTheHostSeesIt()
    {
        // debian_mirror=${MIRROR:-…} and the host's MIRROR: the rehearsal serves the host's value through its
        // pass-through (a loopback port where nothing listens: a test reaches nothing beyond 127.0.0.1).
        var (root, makeimg) = ImgbuildRoot();
        string hostMirror = $"http://127.0.0.1:{LoopbackPort.Free()}/pool-mirror/debian";
        using var project = HostProject("imgbuild-mirror", "#!/bin/sh\n", """<ItemGroup><AnemosRehearseDisk Include="disk0" Size="64M" /></ItemGroup>""",
            hostMetadata: $"MIRROR=\"{hostMirror}\"", root: root);
        File.Delete(project.PathOf("deploy"));
        project.Write("IMGBUILD", "target=debian\ndebian_mirror=${MIRROR:-http://deb.debian.org/debian}\nformat=\"raw 1G msdos ext4\"\npackages=\"linux-image-amd64\"\n");
        var result = Rehearse(project, $"-p:AnemosEngine={makeimg}", "-p:AnemosRehearseBootInstalled=false");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains($"mirror {hostMirror} as http://10.0.2.100/pool-mirror/debian through a caching pass-through); console follows", result.Output);
        Assert.Contains("mirror=http://10.0.2.100/pool-mirror/debian", result.Output);
        Assert.Contains($"rehearse vm: mirror {hostMirror}: 0 package(s) from the cache, 0 fetched (0.0 MiB), 0 index file(s); cache ", result.Output);
        Assert.DoesNotContain("ANEMOS3145", result.Output);
        Assert.DoesNotContain("deb.debian.org", result.Output.Replace("debian_mirror=${MIRROR:-http://deb.debian.org/debian}", ""));
    }

    [Fact]
    public void AnInstalledDiskWithoutABootLoaderEndsAtTheFirmwaresWordWithTheConsole()
    {
        // An install that writes nothing to the disk: phase 2's SeaBIOS finds no boot sector. (A partition table
        // without boot code is no better, but silent: SeaBIOS jumps into the zeros and the console stays quiet.)
        using var project = HostProject("no-boot-loader", "#!/bin/sh\necho 'installed: no boot loader'\n",
            """<ItemGroup><AnemosRehearseDisk Include="disk0" Size="64M" /></ItemGroup>""");
        var result = Rehearse(project, "-p:AnemosRehearseBootInstalled=true", "-p:AnemosRehearseBootTimeout=600");
        Assert.True(result.ExitCode != 0 && result.Output.Contains("error ANEMOS3119"), result.ToString());
        Assert.Contains("ANEMOS-RESULT ok host=vm", result.Output);
        Assert.Contains("its console said 'No bootable device", result.Output);
        Assert.Contains("rehearse vm: the console's last lines:", result.Output);
        Assert.DoesNotContain("ANEMOS3111", result.Output);
        // Ended at SeaBIOS's word: it never reached its retry, which restarts the firmware (a second banner).
        string console = File.ReadAllText(project.PathOf("obj/anemos/rehearse/vm/boot-console.log"));
        Assert.Contains("No bootable device.", console);
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(console, @"SeaBIOS \(version"));
    }

    [Fact]
    public void UnderUefiBothPhasesBootThroughOvmfWithTheRehearsalsOwnVariables()
    {
        // The host says uefi; the payload reports what the kernel saw. Phase 2 boots the disk the
        // payload left without a boot loader: OVMF finds nothing and gives up (its shell), as SeaBIOS does.
        using var project = HostProject("uefi", """
            #!/bin/sh
            if [ -d /sys/firmware/efi ]; then echo "payload firmware: uefi (/sys/firmware/efi, $(cat /sys/firmware/efi/fw_platform_size)-bit)"; else echo "payload firmware: bios"; fi
            """, """<ItemGroup><AnemosRehearseDisk Include="disk0" Size="64M" /></ItemGroup>""", hostMetadata: "Firmware=\"uefi\"");
        var result = Rehearse(project, "-p:AnemosRehearseBootInstalled=true", "-p:AnemosRehearseBootTimeout=300");
        Assert.True(result.ExitCode != 0 && result.Output.Contains("error ANEMOS3119"), result.ToString());
        Assert.Contains("QEMU (tcg, UEFI (OVMF)", result.Output);
        Assert.True(result.Output.Contains("payload firmware: uefi (/sys/firmware/efi, 64-bit)"), result.ToString());
        Assert.Contains("ANEMOS-RESULT ok host=vm", result.Output);
        string console = File.ReadAllText(project.PathOf("obj/anemos/rehearse/vm/boot-console.log"));
        Assert.DoesNotContain("SeaBIOS", console);
        // The rehearsal's own copy of OVMF's variable store, written by the firmware of both boots.
        string vars = project.PathOf("obj/anemos/rehearse/vm/OVMF_VARS.fd");
        Assert.Equal(new FileInfo("/usr/share/OVMF/OVMF_VARS_4M.fd").Length, new FileInfo(vars).Length);
        Assert.NotEqual(File.ReadAllBytes("/usr/share/OVMF/OVMF_VARS_4M.fd"), File.ReadAllBytes(vars));
    }

    [Fact]
    public void AFailingMakeimgIsReportedWithItsStepAndItsErrorLine()
    {
        var (root, makeimg) = ImgbuildRoot();
        using var project = HostProject("imgbuild-fails", "#!/bin/sh\n", """<ItemGroup><AnemosRehearseDisk Include="disk0" Size="8M" /></ItemGroup>""", root: root);
        File.Delete(project.PathOf("deploy"));
        project.Write("IMGBUILD", "# fail at bootstrap\ntarget=debian\nformat=\"raw 1G msdos ext4\"\npackages=\"linux-image-amd64\"\n");
        var result = Rehearse(project, $"-p:AnemosEngine={makeimg}");
        Assert.True(result.ExitCode != 0, result.ToString());
        Assert.Contains("ANEMOS-RESULT fail host=vm", result.Output);
        Assert.Matches(@"ANEMOS-RESULT fail host=vm payload=[0-9a-f]{64} step=makeimg:bootstrap", result.Output);
        Assert.Contains("failed: ANEMOS3143: makeimg exited with status 1; its last line says why and what to do: makeimg: bootstrap: ANEMOS2299: debootstrap failed with status 1", result.Output);
        Assert.Contains("error ANEMOS3102", result.Output);
        Assert.Contains("at the deploy init's step 'makeimg:bootstrap'", result.Output);
    }

    const string NetworkReport = """
        #!/bin/sh
        # Writes what the network looks like onto the disk.
        { ip -4 -o addr show; ip route; cat /etc/resolv.conf; echo end; } >/tmp/net
        dd if=/tmp/net of="$ANEMOS_TARGET_DISK" conv=notrunc 2>/dev/null
        sync
        """;

    string NetworkOnDisk(TestProject project) => DiskImage.ReadRecord(Disk(project));

    [Fact]
    public void TheNetworkComesUpWithDhcp()
    {
        using var project = HostProject("dhcp", NetworkReport, """<ItemGroup><AnemosRehearseDisk Include="disk0" Size="8M" /></ItemGroup>""");
        var result = Rehearse(project);
        Assert.True(result.ExitCode == 0, result.ToString());
        string network = NetworkOnDisk(project);
        // The rehearsal's network is restricted to the VM: QEMU leases an address but offers no router or DNS.
        Assert.Matches(@"eth0\s+inet 10\.0\.2\.15/24", network);
        Assert.Contains("DHCP on eth0: 10.0.2.15/24", result.Output);
    }

    [Fact]
    public void TheNetworkComesUpFromAStaticSnapshotWithAGatewayOutsideTheSubnet()
    {
        using var project = HostProject("static", NetworkReport, """<ItemGroup><AnemosRehearseDisk Include="disk0" Size="8M" /></ItemGroup>""",
            hostMetadata: "Network=\"static\"");
        project.Write("network.conf", """
            # Anemos network snapshot, format 1
            link 52:54:00:12:34:56 ens3
            addr 52:54:00:12:34:56 10.0.2.77/32
            route default 10.0.2.2 52:54:00:12:34:56
            dns 10.0.2.3
            """);
        var result = Rehearse(project, "-p:AnemosRehearseNetworkConfig=network.conf");
        Assert.True(result.ExitCode == 0, result.ToString());
        string network = NetworkOnDisk(project);
        Assert.Matches(@"eth0\s+inet 10\.0\.2\.77/32", network);
        Assert.DoesNotContain("10.0.2.15", network);
        Assert.Contains("10.0.2.2 dev eth0", network);
        Assert.Contains("default via 10.0.2.2 dev eth0", network);
        Assert.Contains("nameserver 10.0.2.3", network);
    }

    [Fact]
    public void ARehearsalThatRunsTooLongIsStopped()
    {
        using var project = HostProject("slow", "#!/bin/sh\nsleep 600\n", """<ItemGroup><AnemosRehearseDisk Include="disk0" Size="8M" /></ItemGroup>""");
        var result = project.Build("-t:Rehearse", "-p:Host=vm", Tcg, "-p:AnemosRehearseTimeout=15");
        Assert.True(result.ExitCode != 0 && result.Output.Contains("error ANEMOS3103"), result.ToString());
    }

    [Fact]
    public void AVmWithoutAResultLineIsAnError()
    {
        // An init that is not the deploy init: the kernel panics, QEMU stops, no result line.
        using var project = HostProject("noresult", "#!/bin/sh\n");
        var result = Rehearse(project, "-p:AnemosKernelCommandLine=rdinit=/bin/false", "-p:AnemosRehearseTimeout=120");
        Assert.True(result.ExitCode != 0 && result.Output.Contains("error ANEMOS3104"), result.ToString());
    }

    [Theory]
    [InlineData("""<ItemGroup><AnemosRehearseDisk Include="disk0" Size="lots" /></ItemGroup>""", "", "ANEMOS3106")]
    [InlineData("", "-p:AnemosRehearseNetworkConfig=missing.conf", "ANEMOS3107")]
    [InlineData("", "-p:AnemosRehearseBootDisk=missing-boot-disk", "ANEMOS3108")]
    [InlineData("", "-p:AnemosRehearseMirror=ftp://127.0.0.1/debian", "ANEMOS3109")]
    [InlineData("", "-p:AnemosRehearseMirror=127.0.0.1:8443", "ANEMOS3109")]
    [InlineData("", "-p:AnemosRehearseMirror=http://127.0.0.1:9/debian;AnemosRehearseMirrorCache=/proc/no-cache-here", "ANEMOS3147")]
    [InlineData("", "-p:AnemosRehearseBootInstalled=maybe", "ANEMOS3116")]
    [InlineData("", "-p:AnemosRehearseBootInstalled=true;AnemosRehearseAddress=192.0.2.53", "ANEMOS3117")]
    [InlineData("", "-p:AnemosRehearseFirmware=efi", "ANEMOS3127")]
    [InlineData("", "-p:AnemosRehearseFirmware=uefi;AnemosOvmfCode=/nonexistent/OVMF_CODE_4M.fd", "ANEMOS3128")]
    [InlineData("", "-p:AnemosRehearseBootInstalled=true;AnemosRehearseAddress=192.0.2.53/24;AnemosRehearseGateway=198.51.100.1", "ANEMOS3117")]
    public void BadRehearsalSettingsAreRefused(string extra, string argument, string code)
    {
        using var project = HostProject("bad-" + code, "#!/bin/sh\n", extra);
        var result = Rehearse(project, argument.Length > 0 ? argument : "-p:AnemosRehearseMemory=512");
        Assert.True(result.ExitCode != 0 && result.Output.Contains($"error {code}"), result.ToString());
    }

    [Fact]
    public void RehearsingWithoutAHostIsAnError()
    {
        using var project = HostProject("nohost", "#!/bin/sh\n");
        var result = project.Build("-t:Rehearse");
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("error ANEMOS3105", result.Output);
    }

    [Fact]
    public void AMissingQemuIsACodedError()
    {
        using var project = HostProject("noqemu", "#!/bin/sh\n");
        var result = Rehearse(project, "-p:AnemosQemu=qemu-system-nonexistent");
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("error ANEMOS3101", result.Output);
        Assert.Contains("apt-get install qemu-system-x86", result.Output);
    }
}
