using System.Globalization;
using Anemos.Core.Hashing;
using Anemos.Core.Manifest;
using Anemos.Core.Protocol;
using Anemos.Tasks.Deploy;
using Anemos.Tasks.Ssh;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace Anemos.Tasks;

/// <summary>
/// Deploys one host over SSH (docs/deploy.md): connect → facts (install the helper when missing or
/// out of range) → plan → upload what the host lacks → stage (with the secrets, into RAM) → boot → wait for the host
/// to go and come back → verify. Nothing on the host changes before every secret is resolved, and
/// `boot` starts only after `stage` proved every hash.
/// </summary>
public sealed class DeployAnemosHost : AnemosTask
{
    [Required] public string HostName { get; set; } = "";
    public string? Address { get; set; }
    public string? User { get; set; }
    public string? Port { get; set; }
    /// <summary>The host key fingerprint to insist on before anything is sent.</summary>
    public string? HostKey { get; set; }
    /// <summary>The host key the deployed system presents (defaults: <see cref="DeploySettings.NewSystem"/>).</summary>
    public string? DeployedHostKey { get; set; }
    /// <summary>The user the deployed system lets in (defaults: <see cref="DeploySettings.NewSystem"/>).</summary>
    public string? DeployedUser { get; set; }
    /// <summary>The host's own HostKey and User metadata, which a publish profile's HostKey and User do not change: the new system's defaults.</summary>
    public string? ProjectHostKey { get; set; }
    public string? ProjectUser { get; set; }
    public string? SshConfigFile { get; set; }
    public string? SshIdentityFile { get; set; }

    [Required] public string ManifestFile { get; set; } = "";
    [Required] public string KernelFile { get; set; } = "";
    [Required] public string BaseFile { get; set; } = "";
    [Required] public string OverlayFile { get; set; } = "";
    /// <summary>The base's base-image.json (its unpackedSize), when the build knows it: the memory the deploy environment needs (<see cref="DeployMemory"/>).</summary>
    public string? BaseDescriptionFile { get; set; }
    /// <summary>AnemosMinimumMemory (MiB): replaces the computed figure the host's memory is checked against.</summary>
    public string? MinimumMemory { get; set; }
    /// <summary>The default helper variant's file (AnemosHelperPath: the SDK's tools/helper/linux-x64/anemos-kexec) and the version this SDK carries.</summary>
    [Required] public string HelperFile { get; set; } = "";
    /// <summary>The SDK's helper variants by name, in the order of preference, the default first (Anemos.HelperVariants.props); each but the default lies at HelperDirectory/NAME/anemos-kexec.</summary>
    public ITaskItem[] HelperVariants { get; set; } = [];
    public string HelperDirectory { get; set; } = "";
    [Required] public string HelperVersion { get; set; } = "";
    public string? HelperVersionRange { get; set; }
    /// <summary>An https URL serving this SDK's gzipped helper, for hosts to fetch it themselves (with <see cref="HelperSha256"/>).</summary>
    public string? HelperUrl { get; set; }
    public string? HelperSha256 { get; set; }
    /// <summary>The helper's state folder on the host (AnemosHelperStateDirectory; empty: HelperStateLayout's default); the helper itself is installed under it.</summary>
    public string RemoteStateDirectory { get; set; } = "";
    /// <summary>The helper's folder in RAM for an initramfs with secrets (its --run); empty: the helper's default.</summary>
    public string? RemoteSecretsDirectory { get; set; }

    /// <summary>AnemosSecret items: Command, File or EnvironmentVariable, and TargetPath. Resolved here, never logged.</summary>
    public ITaskItem[] Secrets { get; set; } = [];
    [Required] public string ProjectDirectory { get; set; } = "";
    /// <summary>Operator-side locks, one per host address and port.</summary>
    [Required] public string LockDirectory { get; set; } = "";
    /// <summary>Where to write the phases as JSON (deploy.json).</summary>
    public string? ReportFile { get; set; }
    /// <summary>The host's TargetDisk metadata: a kernel name is described by the helper at stage, for the deploy init to find by identity.</summary>
    public string? TargetDisk { get; set; }
    /// <summary>The host's Firmware metadata (bios or uefi), compared with what the facts find (ANEMOS4046).</summary>
    public string? HostFirmware { get; set; }

    public bool DryRun { get; set; }
    /// <summary>Wait for the host to come back and verify it (false: stop after the handover).</summary>
    public bool Wait { get; set; } = true;
    [Required] public string TimeoutSeconds { get; set; } = "";
    /// <summary>A command run on the new system once it is back; exit 0 means healthy.</summary>
    public string? HealthCheck { get; set; }
    /// <summary>
    /// The host's AuthorizedKeys metadata: keys the deploy environment's root takes besides the keys that could log in to
    /// the old system as the deploy's user (the helper reads those at stage, unless <see cref="CarryLoginKeys"/> is false).
    /// </summary>
    public string? AuthorizedKeys { get; set; }
    /// <summary>AnemosCarryLoginKeys (default true): false leaves the deploy environment the host's AuthorizedKeys only (none without them).</summary>
    public bool CarryLoginKeys { get; set; } = true;

    /// <summary>The stage phase's words for who may log in to the deploy environment (deploy.md, "Who may log in").</summary>
    string DeployEnvironmentKeys(string? loginKeys)
    {
        var sets = new List<string>();
        if (!string.IsNullOrWhiteSpace(AuthorizedKeys)) sets.Add("the host's AuthorizedKeys");
        if (CarryLoginKeys) sets.Add($"the old system's login keys, {loginKeys ?? "not read (the helper is too old)"}");
        return sets.Count > 0 ? string.Join(" and ", sets) : "no keys (AnemosCarryLoginKeys=false, no AuthorizedKeys)";
    }
    /// <summary>What the deploy init does after a failure (shell, ssh, poweroff): a failed install's error says how to reach the machine.</summary>
    public string? OnFailure { get; set; }

    [Output] public long BytesSent { get; set; }
    [Output] public ITaskItem[] Phases { get; set; } = [];

    DeployProgress _progress = null!;
    string _state = "";
    string UploadFolder => HelperStateLayout.On(_state, HelperStateLayout.Upload);
    HelperClient _helper = null!;
    SshTarget _target = null!;

    protected override void ExecuteCore()
    {
        _progress = new DeployProgress(Log, HostName);
        string outcome = "failed";
        try
        {
            Deploy();
            outcome = DryRun ? "dry-run" : Wait ? "deployed" : "handed-over";
        }
        finally
        {
            BytesSent = _progress.BytesSent;
            Phases = _progress.Phases.Select(p =>
            {
                var item = new TaskItem(p.Name);
                item.SetMetadata("Seconds", p.Seconds.ToString("0.000", CultureInfo.InvariantCulture));
                item.SetMetadata("BytesSent", p.BytesSent.ToString(CultureInfo.InvariantCulture));
                item.SetMetadata("Detail", p.Detail);
                item.SetMetadata("Succeeded", p.Succeeded ? "true" : "false");
                return (ITaskItem)item;
            }).ToArray();
            if (ReportFile is { Length: > 0 } report) _progress.WriteReport(report, outcome, DryRun);
        }
    }

    void Deploy()
    {
        var manifest = AnemosManifest.Parse(File.ReadAllText(ManifestFile));
        _target = DeploySettings.Target(HostName, Address, User, Port, HostKey, DeployedHostKey, SshConfigFile, SshIdentityFile);
        var newSystemTarget = DeploySettings.NewSystem(HostName, _target, DeployedHostKey, DeployedUser, ProjectHostKey, string.IsNullOrWhiteSpace(ProjectUser) ? DeploySettings.DefaultUser : ProjectUser);
        int timeout = DeploySettings.TimeoutSeconds(TimeoutSeconds);
        var compatibility = HelperCompatibility.Create(HelperVersion, HelperVersionRange);
        var helperSource = HelperSource.Create(HelperUrl, HelperSha256, HelperFile, CancellationToken);
        var helperVariants = HelperVariant.LoadAll([.. HelperVariants.Select(v => v.ItemSpec)], HelperDirectory, HelperFile);
        var memory = DeployMemory.Resolve(manifest.Initramfs.Size, manifest.Base.Size, BaseDescriptionFile, MinimumMemory);
        _state = (string.IsNullOrWhiteSpace(RemoteStateDirectory) ? HelperStateLayout.DefaultDirectory : RemoteStateDirectory).TrimEnd('/');

        // Every secret is resolved before the host is even contacted: one that fails changes nothing.
        var secrets = DeploySecrets.Resolve(Secrets, ProjectDirectory, CancellationToken);
        string owner = $"{Environment.UserName}@{Environment.MachineName}";

        using var operatorLock = OperatorLock.Acquire(LockDirectory, _target.Address, _target.Port, owner);
        SshSession session;
        using (var phase = _progress.Begin("connect"))
        {
            session = SshSession.Open(_target, CancellationToken);
            phase.Complete(_target.HostKey is null ? _target.Display : $"{_target.Display}, host key {_target.HostKey} pinned");
        }
        _helper = new HelperClient(session, _target.Display, _state, string.IsNullOrWhiteSpace(RemoteSecretsDirectory) ? null : RemoteSecretsDirectory.Trim());

        RemoteProcess? hold = null;
        try
        {
            Facts facts;
            using (var phase = _progress.Begin("facts"))
            {
                (facts, string how, hold) = HelperInstaller.EnsureAndHold(session, _helper, helperVariants, helperSource, compatibility, owner, phase,
                    (diagnostic, arguments) => LogDiagnostic(diagnostic, arguments), CancellationToken);
                _progress.Firmware = facts.Firmware;
                phase.Complete($"helper {facts.HelperVersion} ({how}), {facts.Architecture}, kernel {facts.KernelRelease ?? "unknown"}, init {facts.InitSystem}, firmware {FirmwareFacts.Describe(facts)}, network {NetworkSummary(facts.Network)}");
            }
            if (FirmwareFacts.Disagreement(facts, HostFirmware, HostName) is { } disagreement) LogDiagnostic(Diagnostics.HostFirmwareDiffers, disagreement);
            // The deploy environment takes its addresses from the host's (network.conf); without them it can only ask DHCP.
            if (facts.Network.Interfaces.Length == 0) LogDiagnostic(Diagnostics.HostNetworkNotCaptured, _target.Display);

            UploadPlan plan;
            string oldBootId = "";
            using (var phase = _progress.Begin("plan"))
            {
                var files = new DeployFiles(KernelFile, BaseFile, OverlayFile, ManifestFile, FileDigest.OfFile(ManifestFile, CancellationToken));
                plan = UploadPlan.Create(manifest, files, facts.CachedSha256, facts.HttpsAvailable, secrets.Count);
                StateRoom.Check(facts.StateFreeBytes, plan.ArrivingSizes, manifest.Initramfs.Size, _target.Display, _state);
                memory.Check(facts.MemTotalBytes, _target.Display);
                KernelMachineCheck.Check(KernelFile, facts.Architecture, _target.Display);
                FirmwareFacts.RefuseSecureBoot(facts, _target.Display);
                phase.Complete(facts.MemTotalBytes > 0 ? $"{plan.Summary}; memory {ByteSize.Format(facts.MemTotalBytes)}, the deploy environment needs {memory.Required}" : plan.Summary);
            }

            using (var phase = _progress.Begin("upload"))
            {
                phase.BytesSent += session.UploadAll([.. plan.Uploads.Select(u => new UploadFile(u.LocalPath, $"{UploadFolder}/{u.Name}", u.Digest))], CancellationToken);
                phase.Complete($"{plan.UploadSummary}: {plan.Uploads.Count} file(s) proven by sha256 on the host");
            }

            // The secrets travel on the stage command's stdin into the helper's folder in RAM: never a
            // file on the host's disk. Until the handover, a failure makes the helper delete them.
            bool handedOver = false;
            try
            {
                using (var phase = _progress.Begin("stage"))
                {
                    byte[] segment = secrets.Count > 0 ? DeploySecrets.WriteSegment(secrets) : [];
                    bool loginKeys = CarryLoginKeys;
                    var command = new StageCommand($"{UploadFolder}/{UploadPlan.ManifestName}")
                    {
                        From = UploadFolder, SecretsOnStandardInput = secrets.Count > 0, Preflight = true,
                        TargetDisk = StageCommand.TargetDiskToDescribe(TargetDisk),
                        LoginKeys = loginKeys ? Capture.Auto : Capture.None,
                    };
                    // The uploads were taken into the cache: their folder goes in the same round trip, once staged.
                    var staged = _helper.Run(command, CancellationToken, secrets.Count > 0 ? new MemoryStream(segment) : null,
                        thenOnSuccess: $"rm -rf {ShellQuoting.Quote(UploadFolder)}").Staged;
                    // The helper proved it; this checks that what it proved is what this build made.
                    if (staged?.ProvenSha256 != manifest.Initramfs.Sha256)
                        throw new AnemosException(Diagnostics.HelperRefused, _target.Display, "stage", "a different initramfs", $"it proved {staged?.ProvenSha256 ?? "unknown"}, the manifest names {manifest.Initramfs.Sha256}.");
                    phase.BytesSent = segment.Length;
                    phase.Complete($"initramfs {manifest.Initramfs.Sha256[..12]} proven, {staged.InitramfsSize} bytes with host segments"
                        + (secrets.Count > 0 ? $"; {secrets.Count} secret(s) in RAM only, mode 0600: {string.Join(", ", secrets.Select(s => "secrets/" + s.TargetPath))}" : "")
                        + "; deploy environment's ssh for root: " + DeployEnvironmentKeys(staged.LoginKeys));
                }

                using (var phase = _progress.Begin("boot"))
                {
                    // `stage --preflight` made every check boot makes, on the bytes it had just proven.
                    // The running system's boot id: the one way to tell it from the new system that answers
                    // later. Without it the wait could decide nothing, so it is read before anything is loaded.
                    var bootId = session.Run(SshHandoverProbe.BootIdCommand, SshHandoverProbe.BootIdLimit, CancellationToken);
                    oldBootId = bootId.Output.Trim();
                    if (Wait && !DryRun && (bootId.ExitCode != 0 || !HandoverWatcher.IsBootId(oldBootId)))
                        throw new AnemosException(Diagnostics.RemoteCommandFailed, _target.Display, SshHandoverProbe.BootIdCommand, bootId.ExitCode,
                            bootId.ExitCode == 0 ? $"it printed '{oldBootId}', not a boot id" : SshSession.LastLine(bootId.Errors));
                    if (DryRun)
                    {
                        phase.Complete("dry run: staged and every check passed; nothing was loaded, the host runs as before"
                            + (secrets.Count > 0 ? "; the secrets were deleted" : ""));
                        return;
                    }
                    _helper.StartBoot(CancellationToken);
                    handedOver = true;
                    phase.Complete("every check passed; the helper loads the deploy kernel and hands over");
                }
            }
            finally
            {
                if (secrets.Count > 0 && !handedOver) _helper.TryRun(new DiscardCommand(), cancellationToken: CancellationToken.None);
            }

            if (!Wait)
            {
                Log.LogMessage(MessageImportance.High, $"  deploy {HostName}: handed over; not waiting (AnemosDeployWait=false). {ByteSize.Format(_progress.BytesSent)} sent.");
                return;
            }

            SshSession newSystem;
            using (var phase = _progress.Begin("wait"))
            {
                var probe = new SshHandoverProbe(_helper, newSystemTarget, _target.HostKey, releaseOldSystem: () =>
                {
                    hold?.Dispose();
                    hold = null;
                    session.Dispose();
                })
                { OldBootId = oldBootId };
                var liveLog = new LiveInstallLog(Log, HostName, _target, OnFailure);
                var stream = new DeployLogStream(DeploySettings.DeployEnvironment(_target), oldBootId, liveLog.WriteLine, SystemWatchClock.Instance);
                var watcher = new HandoverWatcher(probe, SystemWatchClock.Instance, _target.Display) { FollowDeployLog = (deadline, token) => liveLog.Follow(stream, deadline, token) };
                var verdict = watcher.Watch(oldBootId, timeout, CancellationToken);
                newSystem = (SshSession)verdict.NewSystem;
                string live = stream.LinesSeen == 0 ? "" : string.Create(CultureInfo.InvariantCulture,
                    $"; live log: {stream.LinesSeen} line(s) over {stream.Connections} connection(s)");
                phase.Complete(string.Create(CultureInfo.InvariantCulture, $"{verdict.Evidence}{live}; back after {phase.Elapsed:0.0} s"));
            }

            using (newSystem)
            using (var phase = _progress.Begin("verify"))
                phase.Complete(NewSystemCheck.Verify(newSystem, _target.Display, manifest.Payload.Sha256, HealthCheck, CancellationToken));
        }
        finally
        {
            hold?.Dispose();
            session.Dispose();
        }
        Log.LogMessage(MessageImportance.High, string.Create(CultureInfo.InvariantCulture,
            $"  deploy {HostName}: done in {_progress.TotalSeconds:0.0} s, {ByteSize.Format(_progress.BytesSent)} sent"));
    }

    /// <summary>The addresses the deploy environment will bring up, as the facts line shows them.</summary>
    static string NetworkSummary(NetworkSnapshot network) => network.Interfaces.Length == 0
        ? "unknown (DHCP)"
        : string.Join(", ", network.Interfaces.Select(i => i.Dhcp ? $"{i.Name} DHCP" : $"{i.Name} " + string.Join(" ", i.Addresses.Select(a => $"{a.Address}/{a.Prefix}"))));
}
