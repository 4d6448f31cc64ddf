using System.Diagnostics;
using Anemos.Core.Hashing;
using Anemos.Core.Initramfs;
using Anemos.Tasks.Deploy;
using Anemos.Tasks.Rehearse;
using Microsoft.Build.Framework;

namespace Anemos.Tasks;

/// <summary>
/// Boots a host's very kernel and initramfs in QEMU with blank disks shaped like the host's, its
/// console streamed into the build output, and turns the deploy init's result line into success
/// or a coded error. The kernel command line asks the deploy init to power off either way, so the
/// rehearsal ends by itself. The disk images stay in the work folder (0700) for inspection, unless
/// the install had the host's secrets: then they are deleted at the end, unless <see cref="KeepDisks"/>.
/// </summary>
public sealed class RehearseAnemosHost : AnemosTask
{
    [Required] public string HostName { get; set; } = "";
    [Required] public string KernelFile { get; set; } = "";
    [Required] public string InitramfsFile { get; set; } = "";
    /// <summary>The base initramfs and its base-image.json: the memory the deploy environment needs (DeployMemory, ANEMOS3131).</summary>
    public string? BaseFile { get; set; }
    public string? BaseDescriptionFile { get; set; }
    /// <summary>AnemosMinimumMemory (MiB): replaces the computed figure.</summary>
    public string? MinimumMemory { get; set; }
    [Required] public string WorkDirectory { get; set; } = "";
    /// <summary>Where relative disk Source paths start.</summary>
    public string? ProjectDirectory { get; set; }
    public string? CommandLine { get; set; }
    /// <summary>Blank disks to attach, in order (vda, vdb, …), each with a Size metadata such as 8G.</summary>
    public ITaskItem[] Disks { get; set; } = [];
    public int MemoryMiB { get; set; } = 512;
    public int TimeoutSeconds { get; set; } = 900;
    public string Qemu { get; set; } = "qemu-system-x86_64";
    /// <summary>auto (KVM where kvm_intel or kvm_amd is loaded, TCG otherwise), kvm or tcg.</summary>
    public string Accelerator { get; set; } = "auto";
    /// <summary>
    /// A network snapshot (docs/overlay.md) to append as /anemos/network.conf, as the host helper
    /// appends the real host's: rehearses a static configuration. Empty: the VM gets DHCP.
    /// </summary>
    public string? NetworkConfig { get; set; }
    /// <summary>The host's TargetDisk metadata: with one, the deploy init needs no boot disk.</summary>
    public string? TargetDisk { get; set; }
    /// <summary>
    /// A boot disk file (docs/overlay.md) to append as /anemos/boot-disk, as the helper appends the
    /// disk the host booted from; `none` for no boot disk. Empty: without a TargetDisk, the first
    /// rehearsal disk (serial anemos-disk0) is the boot disk, as on a server that booted from it.
    /// </summary>
    public string? BootDisk { get; set; }

    /// <summary>
    /// AnemosRehearseMirror: the mirror the VM installs from; empty: the IMGBUILD's own (<see cref="Imgbuild"/>).
    /// A caching pass-through on 127.0.0.1 serves it (<see cref="MirrorPassThrough"/>), QEMU forwards
    /// the guest's 10.0.2.100:80 there (guestfwd), and the rehearsal's /anemos/rehearse.env sets
    /// <see cref="MirrorVariable"/> to the guest's view of it (<see cref="RehearsalMirror"/>).
    /// </summary>
    public string? Mirror { get; set; }
    /// <summary>The host variable that names the mirror for the IMGBUILD (MIRROR in the samples).</summary>
    public string MirrorVariable { get; set; } = "MIRROR";
    /// <summary>AnemosRehearseMirrorCache: where the pass-through keeps packages between rehearsals.</summary>
    public string? MirrorCache { get; set; }
    /// <summary>The payload's IMGBUILD, whose debian_mirror is the mirror when <see cref="Mirror"/> is empty.</summary>
    public string? Imgbuild { get; set; }
    /// <summary>The host (AnemosHost item): its value of <see cref="MirrorVariable"/> is the mirror a deploy would use.</summary>
    public ITaskItem? HostItem { get; set; }
    /// <summary>The host's AnemosSecret items: resolved now, appended in a temporary folder, deleted afterwards.</summary>
    public ITaskItem[] Secrets { get; set; } = [];
    /// <summary>AnemosRehearseKeepDisks: keep the disk images of a rehearsal that had secrets (ANEMOS3130 says what they hold).</summary>
    public bool KeepDisks { get; set; }
    /// <summary>imgbuild or deploy: with auto, only an IMGBUILD install is booted from its disk.</summary>
    public string? PayloadKind { get; set; }
    /// <summary>auto, true or false: boot the install disk with the VM's firmware after a successful install.</summary>
    public string BootInstalled { get; set; } = "auto";
    public int BootTimeoutSeconds { get; set; } = 600;
    /// <summary>The installed system's own IPv4 address with prefix (a.b.c.d/nn); QEMU's network takes its shape.</summary>
    public string? InstalledAddress { get; set; }
    public string? InstalledGateway { get; set; }
    /// <summary>The host's HostKey pin (SHA256:…): with secrets, the installed sshd must answer with it.</summary>
    public string? HostKey { get; set; }
    /// <summary>The host's health check (AnemosHealthCheck): run over ssh as root on the installed system, as a deploy runs it.</summary>
    public string? HealthCheck { get; set; }
    /// <summary>AnemosSshConfigFile and AnemosSshIdentityFile, as a deploy's ssh uses them.</summary>
    public string? SshConfigFile { get; set; }
    public string? SshIdentityFile { get; set; }
    /// <summary>AnemosRehearseFirmware: bios, uefi, or auto (the host's Firmware metadata, else bios). Both phases boot with it.</summary>
    public string Firmware { get; set; } = "auto";
    /// <summary>The host's Firmware metadata (bios or uefi), which auto follows.</summary>
    public string? HostFirmware { get; set; }
    /// <summary>The host's deploy.json: without Firmware metadata, auto follows the firmware its last deploy found.</summary>
    public string? DeployReportFile { get; set; }
    /// <summary>AnemosOvmfCode and AnemosOvmfVars: OVMF's code and its empty variable store (Debian's ovmf package).</summary>
    public string OvmfCode { get; set; } = QemuFirmware.OvmfCode;
    public string OvmfVars { get; set; } = QemuFirmware.OvmfVarsTemplate;

    [Output] public string? ConsoleLog { get; set; }
    [Output] public string? Result { get; set; }

    string Project => ProjectDirectory ?? Directory.GetCurrentDirectory();

    protected override void ExecuteCore()
    {
        // A rehearsal killed with SIGKILL left its secrets in a temporary folder: this user's go now.
        RehearsalSecrets.RemoveStale();
        string qemu = QemuHost.Find(Qemu) ?? throw new AnemosException(Diagnostics.QemuMissing, Qemu);
        // The same figure a deploy's preflight checks a host against, before QEMU starts.
        long initramfsBytes = File.Exists(InitramfsFile) ? new FileInfo(InitramfsFile).Length : 0;
        DeployMemory.Resolve(initramfsBytes, BaseFile is { Length: > 0 } baseFile && File.Exists(baseFile) ? new FileInfo(baseFile).Length : initramfsBytes,
            BaseDescriptionFile, MinimumMemory).CheckRehearsal(MemoryMiB, HostName);
        var mirror = ResolveMirror();
        bool boot = RehearsalVm.BootsInstallDisk(BootInstalled, PayloadKind);
        var installedNetwork = boot ? RehearsalNetwork.Parse(InstalledAddress, InstalledGateway) : null;
        string? deployedFirmware = DeployProgress.RecordedFirmware(DeployReportFile);
        bool uefi = RehearsalFirmware.IsUefi(Firmware, HostFirmware, HostName, deployedFirmware);
        string firmwareSource = RehearsalFirmware.FollowsLastDeploy(Firmware, HostFirmware, deployedFirmware) ? " as the last deploy found the host" : "";
        if (uefi) RehearsalFirmware.RequireOvmf(OvmfCode, OvmfVars);
        RehearsalDisks.CreateWorkFolder(WorkDirectory);
        var vm = new RehearsalVm
        {
            HostName = HostName, Qemu = qemu, Accelerator = QemuHost.Accelerator(Accelerator), MemoryMiB = MemoryMiB, KernelFile = KernelFile, CommandLine = CommandLine,
            // A fresh variable store per rehearsal, in its work folder: a new machine's NVRAM.
            Firmware = uefi ? QemuFirmware.UefiWithFreshVars(WorkDirectory, OvmfCode, OvmfVars) : QemuFirmware.Bios,
        };
        var disks = RehearsalDisks.Create(Disks, WorkDirectory, Project, (diagnostic, arguments) => LogDiagnostic(diagnostic, arguments));
        if (Log.HasLoggedErrors) return;

        // Secrets live in a private temporary folder for the rehearsal only, as a deploy's do.
        var secrets = ResolveSecrets();
        try
        {
            var initramfs = new RehearsalInitramfs
            {
                InitramfsFile = InitramfsFile, WorkDirectory = WorkDirectory, ProjectDirectory = Project,
                NetworkConfig = NetworkConfig, BootDisk = BootDisk, TargetDisk = TargetDisk,
                Mirror = mirror, MirrorVariable = MirrorVariable, Secrets = secrets,
            }.Assemble(CancellationToken);
            // What the install must leave alone: the sha256 of every disk with content (a Source) now;
            // the install disk is known after the run. Blank disks are not read (an 8 GiB sparse file).
            var before = boot ? disks.Sourced.ToDictionary(d => d, d => FileDigest.OfFile(d, CancellationToken).Sha256) : null;

            ConsoleLog = Path.Combine(WorkDirectory, "console.log");
            Log.LogMessage(MessageImportance.High, $"  rehearse {HostName}: QEMU ({vm.Accelerator}, {(vm.Firmware.IsUefi ? "UEFI (OVMF)" : "BIOS")}{firmwareSource}, {MemoryMiB} MiB, {disks.Files.Count} disk(s){(mirror is null ? "" : $", mirror {mirror.Upstream} as {mirror.GuestUrl} through a caching pass-through")}); console follows");
            var installStarted = Stopwatch.StartNew();
            RehearsalVm.Installed install;
            using (var passThrough = mirror is null ? null : MirrorPassThrough.Start(mirror.Upstream, string.IsNullOrWhiteSpace(MirrorCache) ? Path.Combine(WorkDirectory, "mirror-cache") : MirrorCache))
            {
                try
                {
                    install = vm.Install(vm.InstallCommand(disks.Files, initramfs, passThrough is null ? null : mirror!.Forward(passThrough.Port)), ConsoleLog, TimeoutSeconds, Log, CancellationToken);
                }
                finally
                {
                    if (passThrough is not null) ReportPassThrough(passThrough);
                }
            }
            var installTime = installStarted.Elapsed;
            Result = install.Result;
            secrets?.Dispose();
            if (!boot)
            {
                Log.LogMessage(MessageImportance.High, $"  rehearse {HostName}: the deploy init reported success in {RehearsalTime.Format(installTime)}; disks in {WorkDirectory}");
                return;
            }

            // Phase 2: the install disk alone, booted by the VM's firmware, as the server reboots into it.
            if (install.InstallDisk < 0 || install.InstallDisk >= disks.Files.Count)
                throw new AnemosException(Diagnostics.RehearseInstallDiskUnknown, HostName, ConsoleLog, install.LastLine);
            string installed = disks.Files[install.InstallDisk];
            Log.LogMessage(MessageImportance.High, $"  rehearse {HostName}: installed in {RehearsalTime.Format(installTime)}; booting {Path.GetFileName(installed)} with the VM's firmware (no -kernel)");
            var report = vm.Boot(installed, installedNetwork, new InstalledSystemCheck
            {
                HostName = HostName, HostKey = HostKey, HadSecrets = secrets is not null, HealthCheck = HealthCheck,
                SshConfigFile = SshConfigFile, SshIdentityFile = SshIdentityFile, TimeoutSeconds = BootTimeoutSeconds,
                GuestAddress = installedNetwork?.Guest ?? "10.0.2.15", InstallLog = ConsoleLog, BootLog = Path.Combine(WorkDirectory, "boot-console.log"),
            }, Log, CancellationToken);

            foreach (var (disk, sha) in before!)
            {
                if (disk == installed) continue;
                string after = FileDigest.OfFile(disk, CancellationToken).Sha256;
                if (after != sha) throw new AnemosException(Diagnostics.RehearseDiskChanged, HostName, Path.GetFileName(disk), sha[..12], after[..12]);
            }
            int others = before.Keys.Count(d => d != installed);
            Log.LogMessage(MessageImportance.High,
                $"  rehearse {HostName}: installed in {RehearsalTime.Format(installTime)}, booted from disk to login in {RehearsalTime.Format(report.Login)}, healthy: sshd answers {report.Key} after {RehearsalTime.Format(report.Ssh)}"
                + (report.Health.Length > 0 ? $", {report.Health}" : "")
                + (others > 0 ? $"; {others} other disk(s) unchanged" : "") + $"; total {RehearsalTime.Format(installTime + report.Healthy)}");
        }
        finally
        {
            secrets?.Dispose();
            int deleted = disks.ForgetSecrets(secrets?.Count ?? 0, KeepDisks, HostName, (diagnostic, arguments) => LogDiagnostic(diagnostic, arguments));
            if (deleted > 0)
                Log.LogMessage(MessageImportance.High, $"  rehearse {HostName}: {deleted} disk image(s) deleted, as the install had the host's secrets (AnemosRehearseKeepDisks=true keeps them)");
        }
    }

    /// <summary>AnemosRehearseMirror, else the IMGBUILD's own mirror as this host sees it; null (ANEMOS3145 when an IMGBUILD cannot be redirected) without one.</summary>
    RehearsalMirror? ResolveMirror()
    {
        string? imgbuild = PayloadKind == "imgbuild" && File.Exists(Imgbuild) ? File.ReadAllText(Imgbuild!) : null;
        var mirror = RehearsalMirror.Resolve(Mirror, imgbuild, MirrorVariable, HostItem?.GetMetadata(MirrorVariable), out string? why);
        if (why is not null) LogDiagnostic(Diagnostics.RehearseWithoutMirror, HostName, why, MirrorVariable);
        if (mirror is not null) RehearsalInitramfs.CheckVariableName(MirrorVariable);
        return mirror;
    }

    /// <summary>What the VM got through the pass-through, and ANEMOS3146 for what it could not get.</summary>
    void ReportPassThrough(MirrorPassThrough passThrough)
    {
        var counts = passThrough.Counts;
        Log.LogMessage(MessageImportance.High,
            $"  rehearse {HostName}: mirror {passThrough.Upstream}: {counts.FromCache} package(s) from the cache, {counts.Fetched} fetched ({counts.FetchedBytes / 1048576.0:0.0} MiB), {counts.Indexes} index file(s); cache {passThrough.CacheDirectory}");
        if (counts.Failures > 0)
            LogDiagnostic(Diagnostics.RehearseMirrorUnreachable, new object?[] { HostName, counts.Failures, passThrough.Upstream, counts.FirstFailure });
    }

    /// <summary>The secrets segment, or null without secrets (or when one cannot be resolved: a warning).</summary>
    RehearsalSecrets? ResolveSecrets()
    {
        RehearsalSecrets? secrets;
        try
        {
            secrets = RehearsalSecrets.Resolve(Secrets, Project, CancellationToken);
        }
        catch (AnemosException e)
        {
            LogDiagnostic(Diagnostics.RehearseSecretsSkipped, HostName, e.Message);
            return null;
        }
        if (secrets is not null)
            Log.LogMessage(MessageImportance.High, $"  rehearse {HostName}: {secrets.Count} secret(s) in a temporary segment, deleted after the install");
        return secrets;
    }
}
