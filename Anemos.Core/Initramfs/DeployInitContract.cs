namespace Anemos.Core.Initramfs;

/// <summary>
/// What the build, a rehearsal and the host helper put where the deploy init
/// (Anemos.Sdk/init/anemos-init) reads it: the files under /anemos, the names in host.env, the
/// kernel command-line keys and the grammars of network.conf and boot-disk (docs/overlay.md,
/// docs/deploy-init.md). The init is their one consumer; DeployInitContractTests checks that it
/// uses exactly these names.
/// </summary>
public static class DeployInitContract
{
    /// <summary>The folder of the contract files, at the initramfs root.</summary>
    public const string Directory = "anemos";

    // The overlay (built per host).
    public const string HostEnvironment = "anemos/host.env";
    public const string Payload = "anemos/payload.tar.gz";
    public const string AuthorizedKeys = "anemos/authorized_keys";

    // Segments appended on the host (or by a rehearsal) after the proven initramfs.
    public const string NetworkConf = "anemos/network.conf";
    public const string BootDisk = "anemos/boot-disk";
    /// <summary>The disk a TargetDisk by kernel name (/dev/sda) named on the running system, in the boot-disk grammar: the init finds it by identity.</summary>
    public const string TargetDisk = "anemos/target-disk";
    public const string Secrets = "anemos/secrets";
    /// <summary>The running system's ssh host keys (OpenSSH's ssh_host_TYPE_key files, 0600), in RAM only: the deploy environment's ssh answers with them.</summary>
    public const string HostKeys = "anemos/ssh";
    /// <summary>
    /// The keys that could log in to the old system as the deploy's user (docs/deploy.md, "The live log"), 0600: the deploy
    /// environment's root takes them when the overlay has no <see cref="AuthorizedKeys"/>.
    /// </summary>
    public const string LoginKeys = "anemos/login_keys";
    /// <summary>A rehearsal's own host-variable overrides (docs/rehearse.md), sourced after host.env; never in a deploy.</summary>
    public const string RehearseEnv = "anemos/rehearse.env";

    /// <summary>Every file or folder of the contract, as initramfs paths.</summary>
    public static IReadOnlyList<string> Paths { get; } = [HostEnvironment, Payload, AuthorizedKeys, NetworkConf, BootDisk, TargetDisk, Secrets, HostKeys, LoginKeys, RehearseEnv];

    /// <summary>host.env: what the build writes before the host's own variables.</summary>
    public static class HostEnv
    {
        public const string Host = "ANEMOS_HOST";
        public const string SdkVersion = "ANEMOS_SDK_VERSION";
        /// <summary>The payload's absolute path: /<see cref="DeployInitContract.Payload"/>.</summary>
        public const string Payload = "ANEMOS_PAYLOAD";
        public const string PayloadKind = "ANEMOS_PAYLOAD_KIND";
        public const string PayloadSha256 = "ANEMOS_PAYLOAD_SHA256";
        /// <summary>For the payload only: the init proves the payload by its sha256.</summary>
        public const string PayloadSize = "ANEMOS_PAYLOAD_SIZE";
        public const string OnSuccess = "ANEMOS_ON_SUCCESS";
        public const string OnFailure = "ANEMOS_ON_FAILURE";
        public const string Network = "ANEMOS_NETWORK";
        /// <summary>Only when the host sets TargetDisk.</summary>
        public const string TargetDisk = "ANEMOS_TARGET_DISK";

        public static IReadOnlyList<string> Names { get; } = [Host, SdkVersion, Payload, PayloadKind, PayloadSha256, PayloadSize, OnSuccess, OnFailure, Network, TargetDisk];
    }

    /// <summary>
    /// The deploy environment's live log (docs/deploy-init.md, "ssh during the deploy"): every step, the payload's output and
    /// the result line, one per line; its presence tells the deploy environment from the old and the new system.
    /// </summary>
    public const string Log = "/run/anemos/deploy.log";
    /// <summary>The line the result starts with, on the console and as the log's last line of a run.</summary>
    public const string ResultPrefix = "ANEMOS-RESULT ";
    /// <summary>Written by the streaming command once it sent the result line: the init may reboot or power off without cutting it short.</summary>
    public const string LogDelivered = Log + ".delivered";
    /// <summary>Written by the streaming command when it starts: the init waits (bounded) for <see cref="LogDelivered"/> only then.</summary>
    public const string LogFollowed = Log + ".followed";

    /// <summary>Variables the deploy init sets for the payload (docs/deploy-init.md).</summary>
    public static IReadOnlyList<string> InitEnvironmentNames { get; } = ["ANEMOS_WORK", "ANEMOS_LOG", "ANEMOS_SECRETS", "ANEMOS_INSTALL_DISK"];

    /// <summary>Variables makeimg sets for the IMGBUILD (docs/imgbuild.md).</summary>
    public static IReadOnlyList<string> EngineEnvironmentNames { get; } = ["ANEMOS_ROOT_PARTITION", "ANEMOS_EFI_PARTITION", "ANEMOS_ROOT_UUID", "ANEMOS_BOOT_MODE"];

    /// <summary>Every variable a payload sees besides the host's own: host.env's, the init's and makeimg's.</summary>
    public static IReadOnlyList<string> DeployEnvironmentNames { get; } = [.. HostEnv.Names, .. InitEnvironmentNames, .. EngineEnvironmentNames];

    /// <summary>Kernel command-line keys the init reads (KEY=VALUE): they override host.env's on-success and on-failure.</summary>
    public static class CommandLine
    {
        public const string OnSuccess = "anemos.on_success";
        public const string OnFailure = "anemos.on_failure";

        /// <summary>
        /// The rootfs on ramfs, not tmpfs, which the kernel fills to at most half the memory it counts
        /// while the compressed initramfs is still in it, so a 256 MiB machine could not unpack the
        /// installer (docs/deploy.md, "Memory").
        /// </summary>
        public const string RootfsOnRamfs = "rootfstype=ramfs";
        /// <summary>
        /// No speculative-execution mitigations: everything in the deploy environment runs as root for
        /// the deploy, so they guard no boundary there, and they cost every system call of dpkg's
        /// unpack (docs/deploy.md, "The deploy kernel's command line").
        /// </summary>
        public const string NoMitigations = "mitigations=off";
        /// <summary>No zeroing of every page the kernel allocates (Debian's kernels turn it on), for the same reason.</summary>
        public const string NoInitOnAlloc = "init_on_alloc=0";

        /// <summary>
        /// The SDK's own arguments, first on every command line the deploy kernel boots with (the
        /// manifest's, a rehearsal's); the kernel takes the last value of each, so the host's own
        /// (AnemosKernelCommandLine) win.
        /// </summary>
        public static IReadOnlyList<string> SdkArguments { get; } = [RootfsOnRamfs, NoMitigations, NoInitOnAlloc];

        /// <summary>The deploy kernel's command line: <see cref="SdkArguments"/>, then <paramref name="arguments"/>.</summary>
        public static string Compose(params string?[] arguments) =>
            string.Join(' ', SdkArguments.Concat(arguments.Select(a => (a ?? "").Trim())).Where(a => a.Length > 0));

        public static IReadOnlyList<string> Keys { get; } = [OnSuccess, OnFailure];
    }

    /// <summary>/anemos/network.conf: the header line, then one "WORD ARGUMENTS" line each.</summary>
    public static class NetworkConfGrammar
    {
        public const string Header = "# Anemos network snapshot, format 1";
        /// <summary>link MAC NAME: bring the interface with this MAC up.</summary>
        public const string Link = "link";
        /// <summary>dhcp MAC: ask DHCP on it.</summary>
        public const string Dhcp = "dhcp";
        /// <summary>addr MAC ADDRESS/PREFIX.</summary>
        public const string Address = "addr";
        /// <summary>route DESTINATION GATEWAY MAC.</summary>
        public const string Route = "route";
        /// <summary>dns SERVER.</summary>
        public const string Dns = "dns";

        public static IReadOnlyList<string> Words { get; } = [Link, Dhcp, Address, Route, Dns];
    }

    /// <summary>/anemos/boot-disk: the header line, then "KEY VALUE" lines.</summary>
    public static class BootDiskGrammar
    {
        public const string Header = "# Anemos boot disk, format 1";
        /// <summary>The kernel's name under the old system: informative, the init does not trust it.</summary>
        public const string Device = "device";
        public const string Serial = "serial";
        public const string Wwid = "wwid";
        public const string PtUuid = "ptuuid";
        public const string Size = "size";

        /// <summary>The keys the init matches a disk by.</summary>
        public static IReadOnlyList<string> IdentityKeys { get; } = [Serial, Wwid, PtUuid, Size];
    }
}
