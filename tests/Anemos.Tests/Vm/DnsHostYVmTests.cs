using Anemos.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Anemos.Tests.Vm;

/// <summary>
/// samples/dns y, the second nameserver of the same description (issue 11, points 1 and 2 for y):
/// its rehearsal (<see cref="RehearsedDnsHostY"/>: y's kernel and initramfs install Debian on a
/// blank disk in QEMU, then that disk boots alone with SeaBIOS in y's own network, 198.51.100.53/24),
/// and a redeploy of the system the rehearsal installed: the disk boots as y, `dotnet publish
/// -p:Host=y` with a changed zone reinstalls it from the IMGBUILD, streams the install, and y comes
/// back with its own key and the change. Verdicts come from what the guest wrote and answered.
/// </summary>
[LongRunning(30)] // a whole install and its firmware boot, then a reinstall
public sealed class DnsHostYVmTests(RehearsedDnsHostY host, ITestOutputHelper output) : IClassFixture<RehearsedDnsHostY>
{
    [Fact]
    public void DnsHostYInstallsBootsFromItsDiskAndAnswersWithItsOwnHostKey() => host.AssertInstalledBootedAndHealthy(output);

    [Fact]
    public void PublishReinstallsTheRehearsedYAndItComesBackWithTheChange()
    {
        Assert.True(host.Succeeded, "the rehearsal of y failed:\n" + host.Why);
        string directory = Path.Combine(host.Root, "vm");
        // The rehearsal's disks as a server has them: the installed system first, its data disk second (snapshot: the rehearsal's disk stays as it was).
        using var vm = InstalledHostVm.Start(directory, host.InstallDisk, host.DataDisk, host.Mirror.Mirror, network: DnsHostNetwork.Of("y"));
        host.Copy.TargetVm(vm, directory);
        Assert.Equal(host.Fingerprint, vm.HostKeyFingerprint());
        DnsDeployChecks.PublishAChangeAndVerify(host.Copy, vm, "vda", host.DataSha256, output);
    }
}
