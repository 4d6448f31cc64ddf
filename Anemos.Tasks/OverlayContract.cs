namespace Anemos.Tasks;

/// <summary>Paths inside the initramfs that the deploy init reads (docs/overlay.md).</summary>
public static class OverlayContract
{
    public const string Directory = "anemos";
    public const string HostEnvironment = "anemos/host.env";
    public const string Payload = "anemos/payload.tar.gz";
    public const string AuthorizedKeys = "anemos/authorized_keys";

    /// <summary>
    /// Variables every payload sees besides the host's own: what host.env always holds, what the
    /// deploy init exports (docs/deploy-init.md) and what makeimg exports (docs/imgbuild.md).
    /// </summary>
    public static readonly string[] DeployEnvironmentNames =
    [
        "ANEMOS_HOST", "ANEMOS_SDK_VERSION", "ANEMOS_PAYLOAD", "ANEMOS_PAYLOAD_KIND", "ANEMOS_PAYLOAD_SHA256", "ANEMOS_PAYLOAD_SIZE",
        "ANEMOS_ON_SUCCESS", "ANEMOS_ON_FAILURE", "ANEMOS_NETWORK", "ANEMOS_TARGET_DISK", "ANEMOS_INSTALL_DISK",
        "ANEMOS_WORK", "ANEMOS_LOG", "ANEMOS_SECRETS",
        "ANEMOS_ROOT_PARTITION", "ANEMOS_EFI_PARTITION", "ANEMOS_ROOT_UUID", "ANEMOS_BOOT_MODE",
    ];
}
