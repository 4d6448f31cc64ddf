namespace Anemos.Tasks;

/// <summary>Paths inside the initramfs that the deploy init reads (docs/overlay.md).</summary>
public static class OverlayContract
{
    public const string Directory = "anemos";
    public const string HostEnvironment = "anemos/host.env";
    public const string Payload = "anemos/payload.tar.gz";
    public const string AuthorizedKeys = "anemos/authorized_keys";
}
