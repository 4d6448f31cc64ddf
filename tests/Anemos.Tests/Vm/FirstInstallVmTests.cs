using System.Text.RegularExpressions;
using Anemos.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Anemos.Tests.Vm;

/// <summary>
/// samples/dns x from a stock Debian 12 machine (issue 11, points 2–4). The first install
/// (<see cref="FirstInstalledDnsHost"/>, once): the stock disk boots through UEFI (OVMF) behind a
/// data disk, `dotnet publish -p:Host=x -p:PublishProfile=x-first-install` logs in as `debian`
/// (sudo -n) pinning the stock key, a dry run installs the helper and fills the cache, the real
/// publish after a change sends only the overlay, kexecs through systemd, the engine installs
/// x from the local mirror onto the disk the stock system booted from, and x comes back with its own
/// key. Verdicts come from what the guest wrote and answered; the test prints the phases it
/// measured. The reinstall of an installed system by publish is DnsHostYVmTests' (y, under UEFI):
/// the same checks here again were one more whole install in every CI run.
/// </summary>
[LongRunning(16)] // a stock image and a first install
[EndToEnd(Needs.Qemu)]
public sealed class FirstInstallVmTests(FirstInstalledDnsHost host, ITestOutputHelper output) : IClassFixture<FirstInstalledDnsHost>
{
    /// <summary>What the deploy init prints when it chose the disk the old system booted from (serial as InstalledHostVm gives it).</summary>
    static readonly string BootDiskLine = $"install disk: /dev/vdb (boot disk, serial {Anemos.Tasks.Rehearse.RehearsalDisks.SerialOf(0)})";

    [Fact]
    public void AStockDebianMachineBecomesXOnTheDiskItBootedFromAndAnswersWithXsKey()
    {
        foreach (var (what, time) in host.Phases) output.WriteLine($"{what}: {time.TotalSeconds:0.0} s");
        if (host.DryRun is { } dryRun) DnsDeployChecks.Report(dryRun, "x", null, 0, output);
        if (host.Result is { } published) DnsDeployChecks.Report(published, "x", host.Vm, 1, output);
        Assert.True(host.Succeeded, host.Why);
        var result = host.Result!;
        string context = host.Why;

        // The dry run installed the helper through sudo and loaded nothing; the install after it found the
        // helper and the cache on the stock system's disk and sent only what changed (the overlay, the
        // manifest, the host key secret), not the helper, kernel and installer base (about 58 MiB).
        Assert.Matches(@"deploy x: facts .*\(installed, was missing", host.DryRun!.Output);
        Assert.Contains("dry run: staged and every check passed", host.DryRun.Output);
        Assert.Matches(@"deploy x: facts .*\(already installed\)", result.Output);
        Assert.True(host.BytesSent < 1 << 20, $"the install after the dry run sent {host.BytesSent} bytes\n{context}");

        // In as the stock image's debian through sudo, its own key pinned; the helper took systemd's kexec path.
        Assert.True(result.Output.Contains($"deploy x: connect") && result.Output.Contains($"debian@127.0.0.1:{host.Vm.Port}, host key {host.Image.HostKeyFingerprint} pinned"), context);
        Assert.Matches(@"deploy x: facts .*init systemd, firmware uefi, network ", result.Output);
        Assert.Equal("uefi", host.FirmwareAfterInstall);
        Assert.Contains("back with a new boot id", result.Output);
        Assert.True(result.Output.Contains($"reports payload {host.PayloadAfterInstall[..12]}, healthy"), context);
        Assert.Equal("deployed", host.OutcomeAfterInstall);
        // The install streamed live: the deploy environment answered with the stock system's own (pinned) key.
        DnsDeployChecks.AssertInstallStreamed(result, "x", context);

        // One install, on the disk the stock system booted from (the second on the bus), then x from that disk.
        Assert.True(Regex.Matches(host.ConsoleAfterInstall, "ANEMOS-RESULT ok host=x").Count == 1, context);
        Assert.Equal(["vdb"], InstallDisks(host.ConsoleAfterInstall));
        Assert.Contains(BootDiskLine, host.ConsoleAfterInstall);
        // Under UEFI after the kexec: the engine made the ESP first on x's msdos disk and provision() ran for UEFI,
        // and the firmware then booted x from the ESP's removable path (OVMF throughout, never SeaBIOS).
        Assert.Matches(@"root /dev/vdb2 \(ext4, UUID [0-9a-f-]{36}\) mounted at \S+, EFI /dev/vdb1 at /boot/efi", host.ConsoleAfterInstall);
        Assert.Contains("running provision() in the image (disk=/dev/vdb root=/dev/vdb2 boot=uefi)", host.ConsoleAfterInstall);
        Assert.DoesNotContain("SeaBIOS", host.ConsoleAfterInstall);
        Assert.Matches(@"(?m)^x login:", host.ConsoleAfterInstall);
        // x's own host key (dns.proj's secret), not the stock image's.
        Assert.Equal(host.Copy.Fingerprint, host.HostKeyAfterInstall);
        Assert.Equal(host.DataSha256, host.DataSha256AfterInstall);
    }

    static List<string> InstallDisks(string console) =>
        Regex.Matches(console, @"install disk: /dev/(vd[a-z])\b").Select(m => m.Groups[1].Value).ToList();
}
