using System.Text;
using Anemos.Core.Cpio;
using Anemos.Tests.Infrastructure;

namespace Anemos.Tests.Vm;

/// <summary>
/// kexec for real: a VM boots Debian's kernel with a first initramfs holding busybox, the shipped
/// helper with the libraries ldd lists, a manifest and its artifacts built by the SDK. Its init
/// runs `anemos-kexec stage` then `anemos-kexec boot`; the kexec'd kernel unpacks base + overlay,
/// the deploy init runs a deploy payload that writes a marker to the disk and powers off. The
/// verdict is the marker on the disk image and the console, never QEMU's exit code.
/// </summary>
[EndToEnd(Needs.Qemu)]
public sealed class HelperKexecVmTests(SampleBaseFixture fixture) : IClassFixture<SampleBaseFixture>
{
    [Fact]
    public void TheHelperStagesProvesAndKexecsIntoTheDeployInitramfs()
    {
        using var host = TestProject.Create("""
            <Project Sdk="Anemos.Sdk">
              <PropertyGroup><AnemosOnSuccess>poweroff</AnemosOnSuccess></PropertyGroup>
              <ItemGroup>
                <ProjectReference Include="../base/base.proj" />
                <AnemosHost Include="vm" COLOR="blue" />
              </ItemGroup>
            </Project>
            """, "host.proj", Path.Combine(fixture.Root, "kexec"));
        host.Environment["ANEMOS_DEBIAN_PACKAGES"] = Repository.DebianPackages;
        host.Write("deploy", """
            #!/bin/sh
            printf 'KEXEC-MARKER host=%s color=%s\n' "$ANEMOS_HOST" "$COLOR" | dd of="$ANEMOS_TARGET_DISK" conv=notrunc 2>/dev/null
            sync
            """, executable: true);
        var build = host.Build();
        Assert.True(build.ExitCode == 0, build.ToString());

        string artifacts = host.PathOf("bin/anemos");
        string first = host.PathOf("first.cpio");
        WriteFirstInitramfs(first, artifacts, """
            /anemos-kexec stage --manifest /m/manifest.json --from /m --state /var/lib/anemos && /anemos-kexec boot
            echo "HELPER-FAILED $?"
            """);
        string disk = host.PathOf("disk.img");
        using (var file = File.Create(disk)) file.SetLength(16 << 20);

        string console = Qemu.Boot(Path.Combine(artifacts, "vmlinuz"), first, disk);

        string marker = Encoding.ASCII.GetString(File.ReadAllBytes(disk), 0, 64).TrimEnd('\0');
        Assert.True(marker.StartsWith("KEXEC-MARKER host=vm color=blue\n", StringComparison.Ordinal), "no marker on the disk; console:\n" + console);
        Assert.Contains("FIRST-KERNEL up", console);
        Assert.Contains("staged host vm", console);
        Assert.Contains("ANEMOS-RESULT ok host=vm", console);
        Assert.DoesNotContain("HELPER-FAILED", console);
        // Two kernels booted in the one VM: the first, then the kexec'd deploy kernel.
        Assert.Equal(2, console.Split("Linux version ").Length - 1);
    }

    [Fact]
    public void AFailedHandoverUnloadsTheDeployKernelAndNoSecretOutlivesTheLoad()
    {
        using var host = TestProject.Create("""
            <Project Sdk="Anemos.Sdk">
              <ItemGroup>
                <ProjectReference Include="../base/base.proj" />
                <AnemosHost Include="vm" />
              </ItemGroup>
            </Project>
            """, "host.proj", Path.Combine(fixture.Root, "handover"));
        host.Environment["ANEMOS_DEBIAN_PACKAGES"] = Repository.DebianPackages;
        host.Write("deploy", "#!/bin/sh\n", executable: true);
        var build = host.Build();
        Assert.True(build.ExitCode == 0, build.ToString());

        // The secrets come on stdin as a deploy sends them; systemd is faked and its `systemctl kexec` fails.
        string secret = "SECRET-" + Guid.NewGuid().ToString("N");
        string segment = host.PathOf("secrets.cpio");
        File.WriteAllBytes(segment, Anemos.Tasks.Deploy.DeploySecrets.WriteSegment([new("token", "token", Encoding.ASCII.GetBytes(secret))]));
        string first = host.PathOf("first.cpio");
        WriteFirstInitramfs(first, host.PathOf("bin/anemos"), $"""
            mkdir -p /run/systemd/system
            printf '#!/bin/sh\necho "systemctl $*: refused by the test" >&2\nexit 1\n' >/bin/systemctl
            chmod 0755 /bin/systemctl
            /anemos-kexec stage --manifest /m/manifest.json --from /m --state /var/lib/anemos --secrets - </m/secrets.cpio || echo "STAGE-FAILED $?"
            grep -rlq {secret} /run/anemos && echo "SECRETS-IN-RAM"
            /anemos-kexec boot
            echo "BOOT-EXIT $?"
            echo "KEXEC-LOADED $(cat /sys/kernel/kexec_loaded)"
            if grep -rlq {secret} /var/lib/anemos /run/anemos; then echo "SECRET-LEFT"; else echo "NO-SECRET-LEFT"; fi
            """, ("m/secrets.cpio", segment));
        string disk = host.PathOf("disk.img");
        using (var file = File.Create(disk)) file.SetLength(16 << 20);

        string console = Qemu.Boot(Path.Combine(host.PathOf("bin/anemos"), "vmlinuz"), first, disk);

        Assert.True(console.Contains("SECRETS-IN-RAM"), console);
        Assert.Contains("loaded vm's deploy kernel; handing over", console);
        Assert.Contains("ANEMOS5015", console);
        Assert.Contains("deploy kernel was unloaded: the host runs on as before", console);
        Assert.Contains("BOOT-EXIT 1", console);
        Assert.Contains("KEXEC-LOADED 0", console);
        Assert.Contains("NO-SECRET-LEFT", console);
        Assert.DoesNotContain("STAGE-FAILED", console);
        Assert.Equal(1, console.Split("Linux version ").Length - 1);
    }

    /// <summary>busybox, the helper and its shared libraries, the artifacts (and extra files), and an init that runs <paramref name="script"/>.</summary>
    static void WriteFirstInitramfs(string path, string artifacts, string script, params (string Name, string Source)[] extra)
    {
        using var stream = File.Create(path);
        using var cpio = new NewcWriter(stream);
        var directories = new SortedSet<string>(StringComparer.Ordinal) { "bin", "dev", "proc", "sys", "tmp", "var", "m" };
        var files = new List<(string Name, string Source, uint Mode)>
        {
            ("bin/busybox", Path.Combine(Repository.DebianPackages, "busybox", "bin", "busybox"), 0x1ED),
            ("anemos-kexec", PackagedHelper.File, 0x1ED),
            ("m/manifest.json", Path.Combine(artifacts, "hosts", "vm", "manifest.json"), 0x1A4),
            ("m/vmlinuz", Path.Combine(artifacts, "vmlinuz"), 0x1A4),
            ("m/base.img", Path.Combine(artifacts, "base.img"), 0x1A4),
            ("m/overlay.cpio", Path.Combine(artifacts, "hosts", "vm", "overlay.cpio"), 0x1A4),
        };
        files.AddRange(extra.Select(e => (e.Name, e.Source, 0x1A4u)));
        foreach (string library in StockHostImage.SharedLibraries(PackagedHelper.File))
            files.Add((library.TrimStart('/'), library, 0x1ED));
        foreach (var (name, _, _) in files)
            for (string? parent = Path.GetDirectoryName(name); !string.IsNullOrEmpty(parent); parent = Path.GetDirectoryName(parent))
                directories.Add(parent);

        foreach (string directory in directories) cpio.AddDirectory(directory);
        cpio.AddCharacterDevice("dev/console", 5, 1);
        cpio.AddSymlink("bin/sh", "busybox");
        foreach (var (name, source, mode) in files)
            using (var content = File.OpenRead(source)) // File.OpenRead follows the library symlinks to their files
                cpio.AddFile(name, content, content.Length, mode);
        cpio.AddFile("init", Encoding.ASCII.GetBytes($"""
            #!/bin/sh
            /bin/busybox --install -s
            export PATH=/sbin:/usr/sbin:/bin:/usr/bin
            mount -t proc proc /proc
            mount -t sysfs sysfs /sys
            mount -t devtmpfs devtmpfs /dev
            exec </dev/console >/dev/console 2>&1
            echo "FIRST-KERNEL up"
            {script}
            poweroff -f

            """), 0x1ED);
        cpio.Finish();
    }
}
