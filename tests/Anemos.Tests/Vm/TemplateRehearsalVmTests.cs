using System.Diagnostics;
using Anemos.Tests.Engine;
using Anemos.Tests.Infrastructure;
using Anemos.Tests.Integration;
using Xunit.Abstractions;

namespace Anemos.Tests.Vm;

/// <summary>
/// The anemos-host template's whole rehearsal on a UEFI machine (issue 25), as its README walks it:
/// `dotnet new anemos-host`, the operator's key in files/root/.ssh/authorized_keys, then
/// `dotnet build -t:Rehearse` under OVMF (QEMU, TCG) against the local signed mirror with the
/// template's package set (<see cref="TemplateMirrorFixture"/>; its key in keys/, MIRROR by the
/// pass-through). The engine makes the ESP before the root of the template's msdos layout, installs
/// linux-image-amd64 and GRUB for UEFI at the removable path, and the install disk alone boots
/// through OVMF to a login, answers ssh and passes the template's health check. samples/dns proves
/// the same loader pattern under SeaBIOS (x) and OVMF (y). Two choices of a user, not of the
/// template: the initramfs with MODULES=dep (the IMGBUILD's comment names it; Debian's MODULES=most
/// takes about 9.5 minutes under TCG), and no secret host key (the rehearsal reports the key it got).
/// </summary>
[LongRunning(12)] // a whole install through OVMF and its firmware boot
[EndToEnd(Needs.Qemu)]
public sealed class TemplateRehearsalVmTests(TemplateHome home, TemplateMirrorFixture mirror, ITestOutputHelper output)
    : IClassFixture<TemplateHome>, IClassFixture<TemplateMirrorFixture>
{
    [Fact]
    public void TheTemplatesHostInstallsOnAUefiMachineAndItsDiskBootsThroughOvmfToSsh()
    {
        string project = home.New("web", "anemos-host", "--host", "web", "--address", "web.example.org");
        // Beside the project, not in it: every file in the project folder is payload.
        string operatorHome = Path.Combine(Path.GetDirectoryName(project)!, "home");
        Directory.CreateDirectory(operatorHome);
        string operatorKey = Path.Combine(operatorHome, "operator");
        var keygen = ProcessRunner.Run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "operator", "-f", operatorKey);
        Assert.True(keygen.ExitCode == 0, keygen.ToString());
        File.AppendAllText(Path.Combine(project, "files", "root", ".ssh", "authorized_keys"), File.ReadAllText(operatorKey + ".pub"));
        Directory.CreateDirectory(Path.Combine(project, "keys"));
        File.Copy(mirror.ArchiveKeyring, Path.Combine(project, "keys", "archive.gpg"));
        string initramfsConf = Path.Combine(project, "files", "etc", "initramfs-tools", "conf.d");
        Directory.CreateDirectory(initramfsConf);
        File.WriteAllText(Path.Combine(initramfsConf, "modules.conf"), "MODULES=dep\n");

        var clock = Stopwatch.StartNew();
        var rehearsal = home.Dotnet(["build", "-nologo", "-nodeReuse:false", "-t:Rehearse", "-p:Host=web", "-p:AnemosRehearseAccelerator=tcg",
            "-p:AnemosRehearseFirmware=uefi", $"-p:AnemosRehearseMirror={mirror.Mirror}", $"-p:HOME={operatorHome}", $"-p:AnemosSshIdentityFile={operatorKey}",
            "-p:AnemosRehearseTimeout=2700", "-p:AnemosRehearseBootTimeout=600"], project, minutes: 55);
        output.WriteLine($"rehearsal of the template's web (UEFI, 512 MiB, TCG): {clock.Elapsed.TotalSeconds:0} s, the build included");
        foreach (string line in rehearsal.Output.Split('\n').Where(l => l.Contains("rehearse web:"))) output.WriteLine(line.Trim());
        string? steps = EngineSteps.Summary(rehearsal.Output);
        if (steps is not null) output.WriteLine(steps);

        string work = Path.Combine(project, "obj", "anemos", "rehearse", "web");
        string Tail(string file) => File.Exists(Path.Combine(work, file)) ? string.Join('\n', File.ReadAllLines(Path.Combine(work, file)).TakeLast(40)) : "(no " + file + ")";
        string why = $"{rehearsal}\n---- install console tail ----\n{Tail("console.log")}\n---- boot console tail ----\n{Tail("boot-console.log")}";
        Assert.True(rehearsal.ExitCode == 0, why);
        Assert.Contains("rehearse web: QEMU (tcg, UEFI (OVMF), 512 MiB, 1 disk(s)", rehearsal.Output);
        Assert.Matches(@"root /dev/vda2 \(ext4, UUID [0-9a-f-]{36}\) mounted at \S+, EFI /dev/vda1 at /boot/efi", rehearsal.Output);
        Assert.Contains("Installing for x86_64-efi platform.", rehearsal.Output);
        Assert.Contains("ANEMOS-RESULT ok host=web", rehearsal.Output);
        // The guest's own words: OVMF booted the disk alone (EFI/BOOT/BOOTX64.EFI, no NVRAM entry) to
        // the template's hostname at the login prompt; sshd answered through the hostfwd, and the
        // template's HealthCheck passed as root over ssh with the operator's key.
        Assert.Matches(@"(?m)^web login:", File.ReadAllText(Path.Combine(work, "boot-console.log")));
        Assert.Matches(@"rehearse web: installed in \S+, booted from disk to login in \S+, healthy: sshd answers", rehearsal.Output);
        Assert.Matches(@"health check passed after \d", rehearsal.Output);
    }
}
