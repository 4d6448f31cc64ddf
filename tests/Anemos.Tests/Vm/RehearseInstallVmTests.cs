using System.Text.Json;
using Anemos.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Anemos.Tests.Vm;

/// <summary>
/// The whole install, rehearsed and then deployed for real. The rehearsal (one, shared:
/// <see cref="RehearsedDnsHost"/>): `dotnet build -t:Rehearse -p:Host=x` on a copy of samples/dns
/// boots x's very kernel and initramfs (the installer base) in QEMU under TCG with an install disk
/// and a data disk, the engine installs Debian 12 from a local signed mirror on 127.0.0.1 (reached
/// through QEMU's guestfwd), then the install disk alone boots with SeaBIOS: the console reaches
/// login, sshd answers through a hostfwd with x's own host key (its secret, under a temporary HOME),
/// and the data disk is byte-identical. The deploy: the disk the rehearsal installed boots again
/// and `dotnet publish -p:Host=x` reinstalls it. Verdicts come from what the guest wrote and answered.
/// </summary>
[LongRunning(22)] // a whole install, its firmware boot, and a reinstall by publish
public sealed class RehearseInstallVmTests(RehearsedDnsHost host, ITestOutputHelper output) : IClassFixture<RehearsedDnsHost>
{
    [Fact]
    public void DnsHostXInstallsBootsFromItsDiskAndAnswersWithItsOwnHostKey()
    {
        var result = host.Result!;
        output.WriteLine($"rehearsal of x ({host.Memory} MiB, TCG): {host.Elapsed.TotalSeconds:0} s, the build included");
        foreach (string line in result.Output.Split('\n').Where(l => l.Contains("rehearse x:"))) output.WriteLine(line.Trim());
        string why = host.Why;

        Assert.True(result.ExitCode == 0, why);
        Assert.Contains("ANEMOS-RESULT ok host=x", result.Output);
        Assert.Contains("makeimg[provision]", result.Output);
        // The guest's own words: the login prompt of the installed system, on its serial console.
        Assert.Matches(@"(?m)^x login:", File.ReadAllText(Path.Combine(host.WorkDirectory, "boot-console.log")));
        Assert.Contains($"healthy: sshd answers with x's own host key {host.Fingerprint}", result.Output);
        // dns.proj's AnemosHealthCheck (NSD active and serving example.org), run as root over ssh on the installed system.
        Assert.Matches(@"health check passed after \d", result.Output);
        Assert.Contains("1 other disk(s) unchanged", result.Output);
        Assert.Equal(host.DataSha256, host.DataSha256After);
        // The secrets segment lived in a temporary folder that is gone.
        Assert.Empty(host.TemporaryLeftOver);
        Assert.False(File.Exists(Path.Combine(host.WorkDirectory, "initramfs.img")), "an initramfs with secrets must not stay in obj/");
    }

    /// <summary>
    /// The machine the rehearsal installed boots from its own disk (SeaBIOS, no -kernel) on the
    /// network its static configuration expects, with the data disk attached second, and is
    /// deployed with a changed file under files/: helper installed, kexec into the installer, the
    /// engine reinstalls x from the IMGBUILD (the mirror through a guestfwd in x's own subnet),
    /// reboot, new boot id, payload and health verified, and the new system has the change. The
    /// data disk is byte-identical: the reinstall lands on the disk the system booted from, though
    /// no TargetDisk names it.
    /// </summary>
    [Fact]
    public void PublishReinstallsTheInstalledSystemAndItComesBackWithTheChange()
    {
        Assert.True(host.Succeeded, "the rehearsal that installs the disk failed:\n" + host.Why);
        string directory = Path.Combine(host.Root, "deploy-vm");
        using var vm = InstalledHostVm.Start(directory, host.InstalledDisk, host.DataDisk, host.Mirror.Mirror);
        var timeline = vm.Timeline;

        // x reached through the VM's hostfwd; the reinstall's mirror is the guestfwd in x's subnet.
        string sshConfig = Path.Combine(directory, "ssh_config");
        File.WriteAllText(sshConfig, $"Host *\n  UserKnownHostsFile {Path.Combine(directory, "known_hosts")}\n  GlobalKnownHostsFile /dev/null\n");
        string xml = File.ReadAllText(host.Project);
        Assert.Contains("Address=\"ns1.example.org\"", xml);
        File.WriteAllText(host.Project, xml
            .Replace("Address=\"ns1.example.org\"", $"Address=\"127.0.0.1\" Port=\"{vm.Port}\" MIRROR=\"{InstalledHostVm.GuestMirror}\"")
            .Replace("</Project>", $"""
                  <PropertyGroup>
                    <AnemosSshConfigFile>{sshConfig}</AnemosSshConfigFile>
                    <AnemosDeployLockDirectory>{Path.Combine(directory, "locks")}</AnemosDeployLockDirectory>
                    <AnemosDeployTimeout>3000</AnemosDeployTimeout>
                  </PropertyGroup>
                </Project>
                """));

        // A change under files/ that the rehearsed system does not have: the zone gains a record.
        string zone = Path.Combine(host.Dns, "files", "etc", "nsd", "zones", "example.org.zone");
        File.AppendAllText(zone, "reinstalled IN TXT \"anemos reinstalled me\"\n");
        Assert.Equal("0\n", vm.Run(host.OperatorKey, "grep -c 'anemos reinstalled me' /etc/nsd/zones/example.org.zone || true"));

        var clock = System.Diagnostics.Stopwatch.StartNew();
        ProcessResult result;
        try
        {
            result = ProcessRunner.Run("dotnet",
                ["publish", host.Project, "-nologo", "-nodeReuse:false", "-v:n", "-p:Host=x", $"-p:HOME={host.Home}", $"-p:AnemosSshIdentityFile={host.OperatorKey}"],
                host.Dns, host.Environment(), TimeSpan.FromMinutes(60));
        }
        finally
        {
            // What the guest showed when: boots, the install's result, logins (measured, not asserted).
            output.WriteLine($"publish: {clock.Elapsed.TotalSeconds:0} s, the build included");
            foreach (var (what, at) in timeline.Marks) output.WriteLine($"  VM {at.TotalSeconds,6:0} s: {what}");
        }
        foreach (string line in result.Output.Split('\n').Where(l => l.Contains("deploy x:"))) output.WriteLine("  " + line.Trim());
        string context = $"{result}\n--- VM console tail:\n{vm.ConsoleTail(60)}";
        Assert.True(result.ExitCode == 0, context);
        string payload = JsonDocument.Parse(File.ReadAllText(Path.Combine(host.Dns, "bin", "anemos", "hosts", "x", "manifest.json"))).RootElement
            .GetProperty("payload").GetProperty("sha256").GetString()!;
        // The new system's /etc/anemos/payload.sha256 (written by provision) and dns.proj's health check, as the deploy read them.
        Assert.True(result.Output.Contains($"reports payload {payload[..12]}, healthy"), context);
        Assert.Contains("back with a new boot id", result.Output);
        var report = JsonDocument.Parse(File.ReadAllText(Path.Combine(host.Dns, "obj", "anemos", "hosts", "x", "deploy.json"))).RootElement;
        Assert.Equal("deployed", report.GetProperty("outcome").GetString());
        output.WriteLine($"  bytes sent: {report.GetProperty("bytesSent").GetInt64()}");

        // The installer ran on the machine (its engine on the disk it booted from, then the reboot) and the new system came up from that disk.
        Assert.True(vm.Count("ANEMOS-RESULT ok host=x") == 1, context);
        Assert.Equal(["vda"], vm.InstallDisks());
        Assert.Equal(payload + "\n", vm.Run(host.OperatorKey, "cat /etc/anemos/payload.sha256"));
        Assert.Contains("anemos reinstalled me", vm.Run(host.OperatorKey, "nsd-control zonestatus example.org >/dev/null && grep reinstalled /etc/nsd/zones/example.org.zone"));

        vm.Dispose();
        Assert.Equal(host.DataSha256, RehearsedDnsHost.Sha256Of(vm.DataDisk));
    }
}
