using Anemos.Core.Protocol;

namespace Anemos.Tasks;

/// <summary>
/// Every error and warning the tasks raise. Codes: 0xxx SDK and environment, 1xxx project and
/// inventory, 2xxx payload and IMGBUILD, 3xxx base image and initramfs. Codes raised by the
/// .targets files themselves are listed in docs/errors.md too; a test keeps all of them unique
/// and documented.
/// </summary>
public static class Diagnostics
{
    // 0xxx: SDK and environment
    public static readonly Diagnostic InternalError = new("ANEMOS0001", "{0} failed unexpectedly: {1}. Nothing was written. This is a bug in Anemos.Sdk: please report it with the build log (-bl).");
    public static readonly Diagnostic ZstdUnavailable = new("ANEMOS0003", "zstd compression needs the system zstd library: {0}. Install it (Debian/Ubuntu: apt-get install libzstd1) or set AnemosOverlayCompression (AnemosBaseCompression for a base image) to gzip.");

    // 1xxx: project and inventory
    public static readonly Diagnostic InvalidHostName = new("ANEMOS1002", "Host name '{0}' is not valid: use 1 to 63 letters, digits, '-', '_' or '.', starting with a letter or digit.");
    public static readonly Diagnostic DuplicateHost = new("ANEMOS1003", "Host '{0}' is defined more than once (names are compared without case). Give each AnemosHost a unique name.");
    public static readonly Diagnostic InvalidPort = new("ANEMOS1004", "Host '{0}' has Port '{1}'; use a number from 1 to 65535.");
    public static readonly Diagnostic InvalidAddress = new("ANEMOS1005", "Host '{0}' has Address '{1}'; use a host name or IP address without spaces that does not start with '-'.");
    public static readonly Diagnostic InvalidUser = new("ANEMOS1006", "Host '{0}' has User '{1}'; use a login name of letters, digits, '_', '.', '-' that does not start with '-'.");
    public static readonly Diagnostic InvalidVariableName = new("ANEMOS1007", "Host '{0}' has metadata '{1}', which is not a shell variable name and cannot reach the payload. Rename it to letters, digits and '_' (not starting with a digit).");
    public static readonly Diagnostic ReservedVariableName = new("ANEMOS1008", "Host '{0}' has metadata '{1}', a name the deploy environment reserves. Rename it (names starting with ANEMOS_ and the shell's own variables such as PATH or IFS are reserved).");
    public static readonly Diagnostic InvalidOnFailure = new("ANEMOS1010", "Host '{0}' has OnFailure '{1}' (or AnemosOnFailure is that); use shell, ssh or poweroff.");
    public static readonly Diagnostic InvalidNetwork = new("ANEMOS1011", "Host '{0}' has Network '{1}' (or AnemosNetwork is that); use auto, dhcp, static or none.");
    public static readonly Diagnostic InvalidTargetDisk = new("ANEMOS1012", "Host '{0}' has TargetDisk '{1}'; use a device path such as /dev/sda or /dev/disk/by-id/NAME, without spaces or quotes.");
    public static readonly Diagnostic AuthorizedKeysMissing = new("ANEMOS1013", "Host '{0}' has AuthorizedKeys '{1}', which does not exist. Point it at an authorized_keys file (public keys only).");
    public static readonly Diagnostic BaseDescriptionUnreadable = new("ANEMOS1016", "The base image description '{0}' {1}. Build the referenced base image project again with this SDK (it writes base-image.json), and check that the ProjectReference names a base image project.");

    // 2xxx: payload and IMGBUILD
    public static readonly Diagnostic ImgbuildSyntax = new("ANEMOS2001", "IMGBUILD is not valid POSIX shell: {0}. Fix the syntax; makeimg would fail to read it.");
    public static readonly Diagnostic ImgbuildNoTarget = new("ANEMOS2002", "IMGBUILD does not set 'target'. Add target=arch, target=alpine or target=debian.");
    public static readonly Diagnostic ImgbuildBadTarget = new("ANEMOS2003", "IMGBUILD sets target='{0}'; use arch, alpine or debian.");
    public static readonly Diagnostic ImgbuildSuiteWithoutDebian = new("ANEMOS2004", "IMGBUILD sets debian_suite but target is '{0}'; debian_suite is read only with target=debian. Remove it or change the target.");
    public static readonly Diagnostic ImgbuildNoFormat = new("ANEMOS2005", "IMGBUILD does not set 'format'. Add one of: raw [SIZE [msdos|gpt [FS]]], tar COMPRESSION, dir, custom.");
    public static readonly Diagnostic ImgbuildBadFormat = new("ANEMOS2006", "IMGBUILD format '{0}' is not valid: {1}. The grammar is raw [SIZE [msdos|gpt [FS]]], tar COMPRESSION, dir or custom.");
    public static readonly Diagnostic ImgbuildBadSize = new("ANEMOS2007", "IMGBUILD format size '{0}' is not a size truncate accepts. Use a positive number with an optional suffix: K, M, G, T, P or E (powers of 1024, also KiB…EiB) or KB…EB (powers of 1000), e.g. 8G.");
    public static readonly Diagnostic ImgbuildBadPartitionTable = new("ANEMOS2008", "IMGBUILD format partition table '{0}' is not known; use msdos or gpt.");
    public static readonly Diagnostic ImgbuildBadFileSystem = new("ANEMOS2009", "IMGBUILD format file system '{0}' is not known; use one of ext2, ext3, ext4, btrfs, xfs, vfat, f2fs.");
    public static readonly Diagnostic ImgbuildBadTarCompression = new("ANEMOS2010", "IMGBUILD format 'tar {0}': the compression is not known; use none, gzip, bzip2, xz or zstd.");
    public static readonly Diagnostic ImgbuildCustomNeedsFunctions = new("ANEMOS2011", "IMGBUILD format is 'custom' but it does not define {0}(). A custom format needs both setup() and cleanup().");
    public static readonly Diagnostic ImgbuildBadHostconfEntry = new("ANEMOS2012", "IMGBUILD hostconf entry '{0}' is neither 'keyring' nor KEY=VALUE with a known key; known keys: hostname, timezone, locale, keymap.");
    public static readonly Diagnostic ImgbuildBadHostconfValue = new("ANEMOS2013", "IMGBUILD hostconf {0}='{1}' is not valid: {2}.");
    public static readonly Diagnostic ImgbuildNoPackages = new("ANEMOS2014", "IMGBUILD does not list any packages. Set packages=\"...\" to the packages to install (at least one).");
    public static readonly Diagnostic ImgbuildRuntimeValue = new("ANEMOS2015", "IMGBUILD sets '{0}' from a value computed at run time ({1}); it was not checked at build time. Use a literal value to have it checked.", IsWarning: true);
    public static readonly Diagnostic ImgbuildDuplicateSetting = new("ANEMOS2016", "IMGBUILD sets '{0}' more than once (first on line {1}); only the last value counts. Remove the extra assignment.", IsWarning: true);
    public static readonly Diagnostic ImgbuildFormatNotDeployable = new("ANEMOS2017", "IMGBUILD format '{0}' makes {1}, which a deploy cannot boot: a deploy installs onto the server's disk, so use format=raw (optionally \"raw SIZE msdos|gpt FS\": the install disk) or custom (setup() and cleanup() write the disk themselves).");
    public static readonly Diagnostic PayloadEntryNotFile = new("ANEMOS2112", "'{0}' is not a regular file (a symlink or a folder); makeimg and the deploy init run it from the payload. Replace it with the file itself.");
    public static readonly Diagnostic DeployNotExecutable = new("ANEMOS2103", "'deploy' is not executable. Run: chmod +x deploy (and commit the mode).");
    public static readonly Diagnostic DeployNotProgram = new("ANEMOS2104", "'deploy' is neither a script starting with '#!' nor an ELF program. Add a shebang line such as #!/bin/sh.");
    public static readonly Diagnostic UnsupportedFileKind = new("ANEMOS2105", "'{0}' is a {1}; the payload holds only regular files, directories and symlinks. Remove it from the project folder or the payload.");
    public static readonly Diagnostic EscapingSymlink = new("ANEMOS2106", "'{0}' is a symlinked directory that points outside the project ({1}). Copy what you need into the project or remove the link; symlinks are packed as links and never followed.");
    public static readonly Diagnostic FileOutsideProject = new("ANEMOS2107", "Payload file '{0}' is outside the project folder. The payload holds only files under {1}.");
    public static readonly Diagnostic PayloadFileMissing = new("ANEMOS2108", "Payload file '{0}' does not exist. Remove it from the AnemosPayloadFile items or create it.");
    public static readonly Diagnostic UncarriableName = new("ANEMOS2109", "'{0}' cannot be carried in the payload: {1}. Rename it.");
    public static readonly Diagnostic TemplateUndefinedVariable = new("ANEMOS2111", "The template names ${{{0}}}, which host '{1}' does not define: makeimg would stop here. Define {0} as metadata of that AnemosHost, or write $${{{0}}} for a literal ${{{0}}}.");
    public static readonly Diagnostic SecretInPayload = new("ANEMOS2110", "'{0}' is in the secrets/ folder, which never enters the payload. Secrets travel only at deploy time; declare it as an AnemosSecret instead.");
    public static readonly Diagnostic EngineCannotCarry = new("ANEMOS2115", "'{0}' cannot be carried by makeimg: {1}.");
    public static readonly Diagnostic PayloadLarge = new("ANEMOS2113", "The payload is {0} compressed, more than AnemosPayloadSizeWarningMiB ({1} MiB); its largest files: {2}. The payload is the system's description and travels to every host in RAM: remove what was left in the folder (a disk image, a download) with <AnemosPayloadFile Remove=\"...\" />, or raise AnemosPayloadSizeWarningMiB (0 turns the warning off).", IsWarning: true);
    public static readonly Diagnostic PayloadSizeWarningInvalid = new("ANEMOS2114", "AnemosPayloadSizeWarningMiB is '{0}'; give a whole number of MiB (at most 1048576), or 0 for no warning.");

    // 3xxx: base image and initramfs
    public static readonly Diagnostic KernelNotFound = new("ANEMOS3002", "The kernel '{0}' does not exist. Set AnemosKernel to a kernel image (a path or an https URL with AnemosKernelSha256).");
    public static readonly Diagnostic BaseNotFound = new("ANEMOS3003", "The base initramfs '{0}' does not exist. Set AnemosBaseInitramfs to a file (a path or an https URL with AnemosBaseInitramfsSha256).");
    public static readonly Diagnostic Sha256Mismatch = new("ANEMOS3004", "{0} '{1}' has sha256 {2}, but {3} was expected. The file is not the one the project names; check the source, then update the expected sha256 only if you trust the new file.");
    public static readonly Diagnostic UrlWithoutSha256 = new("ANEMOS3005", "{0} is a URL ({1}) but {0}Sha256 is not set. A download is used only when its sha256 is known: set {0}Sha256.");
    public static readonly Diagnostic InvalidSha256 = new("ANEMOS3006", "{0}Sha256 is '{1}', which is not a sha256. Set it to the 64 hex digits sha256sum prints for the file.");
    public static readonly Diagnostic UrlNotHttps = new("ANEMOS3007", "{0} is '{1}'; downloads must use https. Use an https URL or a local path.");
    public static readonly Diagnostic DownloadFailed = new("ANEMOS3008", "Downloading {0} from {1} failed: {2}. Check the URL and the network, then build again: a broken transfer resumes from the bytes kept in the download cache, a refused one starts over.");
    public static readonly Diagnostic KernelModuleNotFound = new("ANEMOS3010", "Kernel module '{0}' is not in {1}. Check the name (without .ko) against the kernel's modules.dep.");
    public static readonly Diagnostic ModulesDirectoryInvalid = new("ANEMOS3011", "AnemosKernelModulesDirectory '{0}' has no modules.dep. Point it at lib/modules/RELEASE of an unpacked kernel package and create modules.dep with: depmod -b ROOT RELEASE.");
    public static readonly Diagnostic RootfsInputInvalid = new("ANEMOS3012", "Root file system input '{0}' {1}. Use a directory or a .tar, .tar.gz or .tgz file (a .tar.xz or .tar.zst is not read: unpack it into a directory, or recompress it with gzip).");
    public static readonly Diagnostic BaseCannotBootstrap = new("ANEMOS3013", "The IMGBUILD's target is {0}, but the base image '{1}' cannot bootstrap it (it bootstraps: {2}), so a deploy of this initramfs would stop before installing anything. Add {3}; or reference the SDK's installer base (samples/installer/installer.proj), which bootstraps arch and debian.");
    public static readonly Diagnostic BaseNotInitramfs = new("ANEMOS3014", "The base initramfs '{0}' does not start like a cpio archive (plain, gzip, zstd, xz, lz4 or bzip2). The kernel may not unpack it; check AnemosBaseInitramfs.", IsWarning: true);
    public static readonly Diagnostic OverlayTooLarge = new("ANEMOS3015", "The payload is {0} bytes; a cpio entry holds at most 4 GiB. Move large files out of the payload (the server can fetch them itself).");
    public static readonly Diagnostic ModuleCycle = new("ANEMOS3017", "Kernel module dependencies form a cycle through '{0}' in modules.dep; the modules directory looks damaged.");
    public static readonly Diagnostic QemuMissing = new("ANEMOS3101", "Rehearsing needs QEMU, but '{0}' was not found. Install it (Debian/Ubuntu: apt-get install qemu-system-x86) or set AnemosQemu to its path.");
    public static readonly Diagnostic RehearsalFailed = new("ANEMOS3102", "The rehearsal of host '{0}' failed at the deploy init's step '{1}'. Fix the payload; the console is above and in {2}, the disks next to it (unless the install had secrets: then only with AnemosRehearseKeepDisks=true).");
    public static readonly Diagnostic RehearsalTimedOut = new("ANEMOS3103", "The rehearsal of host '{0}' gave no result within {1} seconds and was stopped. Raise AnemosRehearseTimeout if the payload needs longer; the console is in {2}. Last line: {3}");
    public static readonly Diagnostic RehearsalNoResult = new("ANEMOS3104", "The rehearsal VM of host '{0}' stopped without a result line (a kernel panic, or an init that is not the Anemos deploy init). Check the kernel and base image; the console is in {1}. Last line: {2}");
    public static readonly Diagnostic InvalidRehearseDisk = new("ANEMOS3106", "AnemosRehearseDisk '{0}' has Size '{1}'; use a positive size such as 8G, 512M or 2T, and a Source image that exists.");
    public static readonly Diagnostic RehearseBootDiskMissing = new("ANEMOS3108", "AnemosRehearseBootDisk '{0}' does not exist. Point it at a boot disk file (docs/overlay.md), 'none' for no boot disk, or leave it empty for the first rehearsal disk.");
    public static readonly Diagnostic RehearseNetworkConfigMissing = new("ANEMOS3107", "AnemosRehearseNetworkConfig '{0}' does not exist. Point it at a network snapshot (docs/overlay.md) or leave it empty for DHCP.");
    public static readonly Diagnostic RehearseMirrorVariableInvalid = new("ANEMOS3129", "AnemosRehearseMirrorVariable '{0}' is not a variable a host may set: give the IMGBUILD's mirror variable, letters, digits and '_' not starting with a digit, and not a reserved name (ANEMOS_* or the shell's own, such as PATH or IFS).");
    public static readonly Diagnostic RehearseMirrorInvalid = new("ANEMOS3109", "AnemosRehearseMirror '{0}' is not an http URL on 127.0.0.1 with a port (e.g. http://127.0.0.1:8080/debian). The VM reaches only the host's loopback, through QEMU's guestfwd.");
    public static readonly Diagnostic RehearseInstallDiskUnknown = new("ANEMOS3110", "The rehearsal of host '{0}' installed, but its console names no install disk ('install disk: /dev/vdX'), so the installed disk cannot be booted. The console is in {1}. Last line: {2}");
    public static readonly Diagnostic RehearseNoLogin = new("ANEMOS3111", "The installed system of host '{0}' booted from its disk but reached no login prompt within {1} seconds (no boot loader, a kernel without a serial console, a root file system it cannot find). The console is in {2}. Last line: {3}");
    public static readonly Diagnostic RehearseNoSsh = new("ANEMOS3112", "The installed system of host '{0}' reached its login prompt, but its sshd did not answer on port 22 within {1} seconds (its address in the rehearsal: {2}). Check that ssh is enabled and the network configuration matches AnemosRehearseAddress. The console is in {3}. Last line: {4}");
    public static readonly Diagnostic RehearseHostKeyMismatch = new("ANEMOS3113", "The installed system of host '{0}' answers with host key(s) {1}, not its HostKey {2}, although the rehearsal gave it the host's secrets. Check that provision() installs the host key from ANEMOS_SECRETS, and that HostKey is that key's fingerprint.");
    public static readonly Diagnostic RehearseDiskChanged = new("ANEMOS3114", "The rehearsal of host '{0}' changed disk '{1}', which is not the install disk (sha256 {2} before, {3} after). The install must leave every other disk alone; check the IMGBUILD's format and provision().");
    public static readonly Diagnostic RehearseSecretsSkipped = new("ANEMOS3115", "The rehearsal of host '{0}' runs without its secrets: {1} The installed system will have host keys of its own, not the host's.", IsWarning: true);
    public static readonly Diagnostic RehearseBootInvalid = new("ANEMOS3116", "AnemosRehearseBootInstalled is '{0}'; use auto (boot the installed disk after an IMGBUILD install), true or false.");
    public static readonly Diagnostic RehearseNotBootable = new("ANEMOS3119", "The installed disk of host '{0}' did not boot: {1} after the VM's firmware started, its console said '{2}' (the firmware found no boot loader, or the boot loader found no system). Install a boot loader on ANEMOS_INSTALL_DISK in provision() (grub-install, then update-grub); the console is in {3}.");
    public static readonly Diagnostic RehearseUnhealthy = new("ANEMOS3118", "The installed system of host '{0}' answers ssh, but its health check `{1}` did not pass within {2} seconds of the boot (last exit code {3}: {4}). Fix the service or the check; the console is in {5}.");
    public static readonly Diagnostic RehearseAddressInvalid = new("ANEMOS3117", "AnemosRehearseAddress '{0}' (or AnemosRehearseGateway '{1}') is not an IPv4 address with a prefix length such as 192.0.2.53/24 (and a gateway inside that network).");
    public static readonly Diagnostic RehearseFirmwareInvalid = new("ANEMOS3127", "{0} is '{1}'; use bios (SeaBIOS) or uefi (OVMF). AnemosRehearseFirmware may also be auto: the host's Firmware metadata, else bios.");
    public static readonly Diagnostic RehearseOvmfMissing = new("ANEMOS3128", "A UEFI rehearsal needs OVMF, but '{0}' does not exist. Install it (Debian/Ubuntu: apt-get install ovmf), or point AnemosOvmfCode and AnemosOvmfVars at OVMF's code and its empty variable store (4 MiB builds).");
    public static readonly Diagnostic RehearseMemoryTooSmall = new("ANEMOS3131", "Host '{0}' cannot be rehearsed with AnemosRehearseMemory={1} (MiB): its kernel would count about {2} of memory, but the deploy environment needs {3}: {4}. QEMU was not started; set AnemosRehearseMemory to at least {5}, or, if you know it fits, AnemosMinimumMemory (docs/deploy.md, \"Memory\").");
    public static readonly Diagnostic RehearseDisksKeptWithSecrets = new("ANEMOS3130", "The rehearsal of host '{0}' keeps its disk images ({1}) as AnemosRehearseKeepDisks asks: the install had the host's {2} secret(s), so the images may hold them (such as its ssh host private key). They are readable by you alone (0600 in a 0700 folder); delete them when done, and never let them reach CI artifacts or backups.", IsWarning: true);
    // 4xxx: deploy and SSH
    public static readonly Diagnostic HostKeyMismatch = new("ANEMOS4001", "{0} presents {1}, but HostKey pins {2}; nothing was sent. If the server was reinstalled on purpose, update HostKey (ssh-keyscan shows the new key); otherwise do not deploy to it.");
    public static readonly Diagnostic SshConnectFailed = new("ANEMOS4002", "ssh to {0} failed: {1}. Check that `ssh {0}` works from this machine (keys, agent, known_hosts: run ssh-keyscan or pin HostKey); host keys are never ignored.");
    public static readonly Diagnostic RemoteCommandFailed = new("ANEMOS4003", "On {0}, `{1}` exited with {2}: {3}. Check the host (space, permissions; a non-root User needs passwordless sudo).");
    public static readonly Diagnostic UploadFailed = new("ANEMOS4004", "Uploading {0} to {1} failed: {2}. Deploy again: the next deploy resumes from the prefix the host proves intact (sha256).");
    public static readonly Diagnostic SshClientMissing = new("ANEMOS4005", "'{0}' could not be started ({1}). Install the OpenSSH client (Debian/Ubuntu: apt-get install openssh-client).");
    public static readonly Diagnostic DeploySettingInvalid = new("ANEMOS4008", "{0} is '{1}'; use {2}.");
    public static readonly Diagnostic SecretInvalid = new("ANEMOS4010", "AnemosSecret '{0}' {1}. Give each secret exactly one of Command, File or EnvironmentVariable, and a TargetPath inside secrets/. Nothing was sent to the host.");
    public static readonly Diagnostic SecretUnresolved = new("ANEMOS4011", "AnemosSecret '{0}' could not be resolved: {1}. Nothing was sent to the host; fix the secret's source and deploy again.");
    public static readonly Diagnostic OperatorLockHeld = new("ANEMOS4012", "{0} is being deployed from this machine by {1} (lock {2}). Wait for that deploy to end; the lock goes with its process.");
    public static readonly Diagnostic HostLockHeld = new("ANEMOS4013", "{0} refused the deploy: {1} Wait for that deploy to end (the lock goes with its connection), then deploy again.");
    public static readonly Diagnostic StateFolderUntrusted = new("ANEMOS4031", "The helper's state folder {1} on {0} cannot be trusted: {2}. Nothing was run or uploaded there; make every folder on the way root's and writable by root alone, or set AnemosHelperStateDirectory to such a folder (such as " + HelperStateLayout.DefaultDirectory + ").");
    public static readonly Diagnostic HelperUnusable = new("ANEMOS4014", "The host helper does not run on {0}: {1}. anemos-kexec needs Linux on x86-64 with glibc; check the host's architecture (uname -m) and that {2} is on a file system that allows executing.");
    public static readonly Diagnostic HelperRefused = new("ANEMOS4015", "On {0}, anemos-kexec {1} refused with {2}: {3} Unless that says otherwise, no deploy kernel is loaded and the host runs as before.");
    public static readonly Diagnostic HostDidNotLeave = new("ANEMOS4016", "{0} still runs its old system {1} s after the handover (last seen: {2}). The kexec did not happen; {3}. Check the host's journal, then deploy again.");
    public static readonly Diagnostic HostDidNotReturn = new("ANEMOS4017", "{0} went away {1} but did not come back within AnemosDeployTimeout ({2} s); last seen: {3}. Check its console: the deploy init prints ANEMOS-RESULT with the step that failed. Raise AnemosDeployTimeout if the install needs longer.");
    public static readonly Diagnostic VerifyLoginFailed = new("ANEMOS4018", "{0} came back (host key {1}), but logging in failed: {2}. A new system has new host keys: pin them with DeployedHostKey, carry them as AnemosSecret items (samples/bitfehler-net), or update known_hosts.");
    public static readonly Diagnostic PayloadMismatch = new("ANEMOS4019", "{0} came back reporting payload {1}, not the deployed {2}: it runs another system (did the deploy fail and the old one boot?). Check the host's console for the ANEMOS-RESULT line.");
    public static readonly Diagnostic InstallFailed = new("ANEMOS4024", "The deploy init on {0} failed in step {1} (ANEMOS-RESULT fail); the last lines of its log:{2}{3} Fix the cause, then deploy again.");
    public static readonly Diagnostic ArtifactsMissing = new("ANEMOS4022", "AnemosNoBuild is set, but host '{0}' has no artifact at {1}. Build it first (dotnet build -p:Host={0}), or put the build's artifacts (dotnet build -getItem:AnemosArtifact) back at the paths they were built to.");
    public static readonly Diagnostic ArtifactTampered = new("ANEMOS4023", "Host '{0}': the {1} {2} is not the one its build made: {3}. Nothing was sent; download the artifacts of one build again, or rebuild.");
    public static readonly Diagnostic StateFolderFull = new("ANEMOS4030", "{0}: the helper's state folder {1} has {2} free, but staging needs {3} at its peak ({4}). Nothing was uploaded; free space there, or set AnemosHelperStateDirectory to a folder on a larger file system.");
    public static readonly Diagnostic HelperUrlInvalid = new("ANEMOS4040", "AnemosHelperUrl is '{0}', but {1}. Nothing was contacted; publish this SDK's gzipped helper (dotnet build -getProperty:AnemosHelperGzipPath -getProperty:AnemosHelperGzipSha256 names it and its sha256) at an https URL, set AnemosHelperUrl to it and AnemosHelperSha256 to its sha256, or leave both empty to upload the helper.");
    public static readonly Diagnostic HelperFetchFailed = new("ANEMOS4041", "{0} could not fetch the helper from {1}: {2}. It was uploaded instead ({3}); check that the URL serves this SDK's gzipped helper (sha256 {4}) and that the host has curl or wget.", IsWarning: true);
    public static readonly Diagnostic HostNetworkNotCaptured = new("ANEMOS4042", "{0} showed the helper no address on an Ethernet interface (neither iproute2 nor the kernel's own tables list one), so the deploy environment will configure its network by DHCP. Where {0} has no DHCP server, the install cannot reach its mirror: check {0}'s addresses (`ip addr`, or `cat /proc/net/if_inet6 /proc/net/route`) before deploying.", IsWarning: true);
    public static readonly Diagnostic HostMemoryTooSmall = new("ANEMOS4043", "{0} has {1} of memory (MemTotal), but the deploy environment needs {2}: {3}. Nothing was uploaded or loaded; deploy to a host with more memory, use a smaller base image (a busybox base for a deploy payload), or, if you know it fits, set AnemosMinimumMemory to the MiB it needs (docs/deploy.md, \"Memory\").");
    public static readonly Diagnostic MinimumMemoryInvalid = new("ANEMOS4044", "AnemosMinimumMemory is '{0}'; use a whole number of MiB above 0 (such as 384), or leave it empty for the figure computed from the kernel, base and overlay (docs/deploy.md, \"Memory\").");
    public static readonly Diagnostic HealthCheckFailed = new("ANEMOS4020", "{0} came back, but its health check `{1}` exited with {2}: {3}. The deploy counts as failed; a group deploy stops here.");

    public static readonly Diagnostic EngineMissing = new("ANEMOS3021", "The IMGBUILD engine '{0}' (AnemosEngine) does not exist. Point AnemosEngine at a makeimg script, or leave it empty to use the one the SDK ships.");
    public static readonly Diagnostic InvalidBaseCompression = new("ANEMOS3022", "AnemosBaseCompression is '{0}'; use gzip or zstd.");
}
