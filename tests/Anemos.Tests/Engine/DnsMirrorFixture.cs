namespace Anemos.Tests.Engine;

/// <summary>
/// The local signed Debian mirror with what samples/dns installs: the minbase set plus
/// linux-image-amd64, grub-pc, systemd-sysv, openssh-server and nsd with their dependencies
/// (about 150 packages, 120 MB), cached in /var/cache/anemos-tests/debian-mirror-dns.
/// </summary>
public sealed class DnsMirrorFixture : DebianMirrorFixture
{
    protected override string[] ExtraPackages => ["linux-image-amd64", "grub-pc", "systemd-sysv", "openssh-server", "nsd"];
    protected override string CacheName => "debian-mirror-dns";
}
