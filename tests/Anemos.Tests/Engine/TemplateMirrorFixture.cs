namespace Anemos.Tests.Engine;

/// <summary>
/// The local signed Debian mirror with what the anemos-host template installs: mmdebstrap's default
/// variant (priorities required and important) plus linux-image-amd64, grub-pc, grub-efi-amd64-bin,
/// systemd-sysv and openssh-server with their dependencies: about 185 packages, cached in
/// /var/cache/anemos-tests/debian-mirror-template.
/// </summary>
public sealed class TemplateMirrorFixture : DebianMirrorFixture
{
    protected override string Priorities => "required|important";
    protected override string[] ExtraPackages => ["linux-image-amd64", "grub-pc", "grub-efi-amd64-bin", "systemd-sysv", "openssh-server"];
    protected override string CacheName => "debian-mirror-template";
}
