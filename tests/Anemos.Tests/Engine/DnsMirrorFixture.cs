namespace Anemos.Tests.Engine;

/// <summary>
/// The local signed Debian mirror with what samples/dns installs: the minbase set plus
/// linux-image-cloud-amd64, grub-pc, grub-efi-amd64-bin, systemd-sysv, openssh-server, iproute2 and nsd with their
/// dependencies, and sudo for the stock Debian image a first install starts from
/// (<see cref="Vm.StockDebianImage"/>): about 160 packages, 125 MB, cached in
/// /var/cache/anemos-tests/debian-mirror-dns.
/// </summary>
public sealed class DnsMirrorFixture : DebianMirrorFixture
{
    protected override string[] ExtraPackages => ["linux-image-cloud-amd64", "grub-pc", "grub-efi-amd64-bin", "systemd-sysv", "openssh-server", "iproute2", "nsd", "sudo"];
    protected override string CacheName => "debian-mirror-dns";
}
