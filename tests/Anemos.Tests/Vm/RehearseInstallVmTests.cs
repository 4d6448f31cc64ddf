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
[EndToEnd(Needs.Qemu)]
public sealed class RehearseInstallVmTests(RehearsedDnsHost host, ITestOutputHelper output) : IClassFixture<RehearsedDnsHost>
{
    [Fact]
    public void DnsHostXInstallsBootsFromItsDiskAndAnswersWithItsOwnHostKey() => host.AssertInstalledBootedAndHealthy(output);
}
