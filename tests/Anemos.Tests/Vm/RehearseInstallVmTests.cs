using Anemos.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Anemos.Tests.Vm;

/// <summary>
/// The whole install, rehearsed (<see cref="RehearsedDnsHost"/>): `dotnet build -t:Rehearse
/// -p:Host=x` on a copy of samples/dns boots x's very kernel and initramfs (the installer base) in
/// QEMU under TCG with an install disk and a data disk, the engine installs Debian 12 from a local
/// signed mirror on 127.0.0.1 (reached through QEMU's guestfwd), then the install disk alone boots
/// with SeaBIOS: the console reaches login, sshd answers through a hostfwd with x's own host key
/// (its secret, under a temporary HOME), and the data disk is byte-identical. Verdicts come from
/// what the guest wrote and answered. The deploys of x (first install, reinstall) are
/// <see cref="FirstInstallVmTests"/>: they start from a stock Debian instead of this disk, so CI
/// pays for three installs, not four.
/// </summary>
[LongRunning(14)] // a whole install and its firmware boot
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
}
