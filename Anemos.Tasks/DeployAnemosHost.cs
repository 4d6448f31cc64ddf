using System.Globalization;
using System.Text.Json;
using Anemos.Core.Hashing;
using Anemos.Core.Manifest;
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
public sealed partial class DeployAnemosHost : AnemosTask
{
    [Required] public string HostName { get; set; } = "";
    public string? Address { get; set; }
    public string? User { get; set; }
    public string? Port { get; set; }
    /// <summary>The host key fingerprint to insist on before anything is sent.</summary>
    public string? HostKey { get; set; }
    /// <summary>The host key the deployed system presents (defaults to HostKey).</summary>
    public string? DeployedHostKey { get; set; }
    public string? SshConfigFile { get; set; }
    public string? SshIdentityFile { get; set; }

    [Required] public string ManifestFile { get; set; } = "";
    [Required] public string KernelFile { get; set; } = "";
    [Required] public string BaseFile { get; set; } = "";
    [Required] public string OverlayFile { get; set; } = "";
    /// <summary>The helper this SDK carries (tools/helper/linux-x64/anemos-kexec) and its version.</summary>
    [Required] public string HelperFile { get; set; } = "";
    [Required] public string HelperVersion { get; set; } = "";
    public string? HelperVersionRange { get; set; }
    /// <summary>The helper's state folder on the host; the helper itself is installed under it, in bin/.</summary>
    [Required] public string RemoteStateDirectory { get; set; } = "";
    /// <summary>The helper's folder in RAM for an initramfs with secrets (its --run); empty: the helper's default.</summary>
    public string? RemoteSecretsDirectory { get; set; }

    /// <summary>AnemosSecret items: Command, File or EnvironmentVariable, and TargetPath. Resolved here, never logged.</summary>
    public ITaskItem[] Secrets { get; set; } = [];
    [Required] public string ProjectDirectory { get; set; } = "";
    /// <summary>Operator-side locks, one per host address and port.</summary>
    [Required] public string LockDirectory { get; set; } = "";
    /// <summary>Where to write the phases as JSON (deploy.json).</summary>
    public string? ReportFile { get; set; }

    public bool DryRun { get; set; }
    /// <summary>Wait for the host to come back and verify it (false: stop after the handover).</summary>
    public bool Wait { get; set; } = true;
    [Required] public string TimeoutSeconds { get; set; } = "";
    /// <summary>A command run on the new system once it is back; exit 0 means healthy.</summary>
    public string? HealthCheck { get; set; }

    [Output] public long BytesSent { get; set; }
    [Output] public ITaskItem[] Phases { get; set; } = [];

    const string PayloadReportPath = "/etc/anemos/payload.sha256";
    static readonly TimeSpan LeaveLimit = TimeSpan.FromMinutes(10);

    DeployProgress _progress = null!;
    string _state = "";
    string _helper = "";

    /// <summary>The installed helper with its state folder and the given arguments, as a shell command.</summary>
    string Helper(string arguments) => $"{_helper} --state {ShellQuoting.Quote(_state)}{RunOption} {arguments}";
    string RunOption => string.IsNullOrWhiteSpace(RemoteSecretsDirectory) ? "" : " --run " + ShellQuoting.Quote(RemoteSecretsDirectory.Trim());
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
        _target = ResolveTarget();
        int timeout = ParseTimeout();
        var compatibility = HelperCompatibility.Create(HelperVersion, HelperVersionRange);
        _state = RemoteStateDirectory.TrimEnd('/');
        _helper = ShellQuoting.Quote(_state + "/bin/anemos-kexec");

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

        RemoteProcess? hold = null;
        try
        {
            JsonElement facts;
            using (var phase = _progress.Begin("facts"))
            {
                (facts, string how) = EnsureHelperAndHold(session, compatibility, phase, owner, out hold);
                phase.Complete($"helper {Text(facts, "helperVersion")} ({how}), {Text(facts, "architecture")}, kernel {Text(facts, "kernelRelease")}, init {Text(facts, "initSystem")}");
            }

            var uploads = new List<(string Name, string LocalPath, FileDigest Digest)>();
            string oldBootId = "";
            using (var phase = _progress.Begin("plan"))
            {
                var cached = facts.TryGetProperty("cachedSha256", out var list) ? list.EnumerateArray().Select(e => e.GetString()).ToHashSet() : [];
                bool hostFetches = facts.TryGetProperty("httpsAvailable", out var https) && https.GetBoolean();
                var notes = new List<string>();
                foreach (var (name, path, artifact) in new[] { ("kernel", KernelFile, manifest.Kernel), ("base", BaseFile, manifest.Base), ("overlay", OverlayFile, manifest.Overlay) })
                {
                    if (cached.Contains(artifact.Sha256)) notes.Add($"{name} cached");
                    else if (artifact.Url is not null && hostFetches) notes.Add($"{name} fetched by the host from {artifact.Url}");
                    else
                    {
                        uploads.Add((artifact.Sha256, path, new FileDigest(artifact.Sha256, artifact.Size)));
                        notes.Add($"{name} to upload ({ByteSize.Format(artifact.Size)})");
                    }
                }
                uploads.Add(("manifest.json", ManifestFile, FileDigest.OfFile(ManifestFile, CancellationToken)));
                notes.Add("manifest to upload");
                CheckRoom(facts, uploads.Select(u => u.Digest.Size)
                    .Concat(new[] { manifest.Kernel, manifest.Base, manifest.Overlay }.Where(a => !cached.Contains(a.Sha256) && a.Url is not null && hostFetches).Select(a => a.Size)),
                    manifest.Initramfs.Size);
                if (secrets.Count > 0) notes.Add($"{secrets.Count} secret(s)");
                phase.Complete(string.Join(", ", notes));
            }

            using (var phase = _progress.Begin("upload"))
            {
                foreach (var (name, localPath, digest) in uploads)
                    phase.BytesSent += session.Upload(localPath, $"{_state}/upload/{name}", digest, CancellationToken);
                phase.Complete($"{uploads.Count} file(s) proven by sha256 on the host");
            }

            // The secrets travel on the stage command's stdin into the helper's folder in RAM: never a
            // file on the host's disk. Until the handover, a failure makes the helper delete them.
            bool handedOver = false;
            try
            {
                using (var phase = _progress.Begin("stage"))
                {
                    byte[] segment = secrets.Count > 0 ? DeploySecrets.WriteSegment(secrets) : [];
                    string command = $"stage --manifest {ShellQuoting.Quote(_state + "/upload/manifest.json")} --from {ShellQuoting.Quote(_state + "/upload")}"
                        + (secrets.Count > 0 ? " --secrets -" : "");
                    var staged = RunHelper(session, command, "stage", secrets.Count > 0 ? new MemoryStream(segment) : null).GetProperty("staged");
                    // The helper proved it; this checks that what it proved is what this build made.
                    if (Text(staged, "provenSha256") != manifest.Initramfs.Sha256)
                        throw new AnemosException(Diagnostics.HelperRefused, _target.Display, "stage", "a different initramfs", $"it proved {Text(staged, "provenSha256")}, the manifest names {manifest.Initramfs.Sha256}.");
                    session.Run($"rm -rf {ShellQuoting.Quote(_state + "/upload")}", cancellationToken: CancellationToken);
                    phase.BytesSent = segment.Length;
                    phase.Complete($"initramfs {manifest.Initramfs.Sha256[..12]} proven, {Text(staged, "initramfsSize")} bytes with host segments"
                        + (secrets.Count > 0 ? $"; {secrets.Count} secret(s) in RAM only, mode 0600: {string.Join(", ", secrets.Select(s => "secrets/" + s.TargetPath))}" : ""));
                }

                using (var phase = _progress.Begin("boot"))
                {
                    RunHelper(session, "boot --dry-run", "boot");
                    // The running system's boot id: the one way to tell it from the new system that answers later.
                    oldBootId = session.Run("cat /proc/sys/kernel/random/boot_id", TimeSpan.FromSeconds(30), CancellationToken).Output.Trim();
                    if (DryRun)
                    {
                        phase.Complete("dry run: staged and every check passed; nothing was loaded, the host runs as before"
                            + (secrets.Count > 0 ? "; the secrets were deleted" : ""));
                        return;
                    }
                    // Detached: the handover ends this connection, and the helper must outlive it.
                    string log = ShellQuoting.Quote(_state + "/boot.log"), result = ShellQuoting.Quote(_state + "/boot.json");
                    session.RunChecked($"rm -f {result}; cd / && (if command -v setsid >/dev/null 2>&1; then setsid {Helper("--json boot")}; else nohup {Helper("--json boot")}; fi) > {result} 2> {log} < /dev/null &",
                        CancellationToken);
                    handedOver = true;
                    phase.Complete("every check passed; the helper loads the deploy kernel and hands over");
                }
            }
            finally
            {
                if (secrets.Count > 0 && !handedOver) session.Run(Helper("discard"), cancellationToken: CancellationToken.None);
            }

            if (!Wait)
            {
                Log.LogMessage(MessageImportance.High, $"  deploy {HostName}: handed over; not waiting (AnemosDeployWait=false). {ByteSize.Format(_progress.BytesSent)} sent.");
                return;
            }

            SshSession newSystem;
            using (var phase = _progress.Begin("wait"))
            {
                var deadline = DateTimeOffset.UtcNow.AddSeconds(timeout);
                newSystem = WaitForNewSystem(session, oldBootId, deadline, timeout, ref hold, out string wentAway);
                phase.Complete($"the old system went away {wentAway}; the new one answered after {phase.Elapsed:0.0} s");
            }

            using (newSystem)
            using (var phase = _progress.Begin("verify"))
                phase.Complete(Verify(manifest, newSystem));
        }
        finally
        {
            hold?.Dispose();
            session.Dispose();
        }
        Log.LogMessage(MessageImportance.High, string.Create(CultureInfo.InvariantCulture,
            $"  deploy {HostName}: done in {_progress.TotalSeconds:0.0} s, {ByteSize.Format(_progress.BytesSent)} sent"));
    }

    SshTarget ResolveTarget()
    {
        // The properties (AnemosDeployAddress/User/Port) override the metadata, so they pass the same
        // checks as metadata: neither can start with '-' and become an option of ssh.
        string address = string.IsNullOrWhiteSpace(Address) ? HostName : Address.Trim(); // as the build: the name is the address by default
        if (!ResolveAnemosHosts.IsValidAddress(address))
            throw new AnemosException(Diagnostics.InvalidAddress, HostName, address);
        string user = string.IsNullOrWhiteSpace(User) ? "root" : User.Trim();
        if (!ResolveAnemosHosts.IsValidUser(user))
            throw new AnemosException(Diagnostics.InvalidUser, HostName, user);
        int? port = null;
        if (!string.IsNullOrWhiteSpace(Port))
        {
            if (!int.TryParse(Port.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int number) || number is < 1 or > 65535)
                throw new AnemosException(Diagnostics.DeploySettingInvalid, $"Port of host '{HostName}'", Port, "a TCP port between 1 and 65535");
            port = number;
        }
        foreach (var (name, key) in new[] { ("HostKey", HostKey), ("DeployedHostKey", DeployedHostKey) })
            if (!string.IsNullOrWhiteSpace(key) && !PinPattern().IsMatch(key.Trim()))
                throw new AnemosException(Diagnostics.DeploySettingInvalid, $"{name} of host '{HostName}'", key, "a fingerprint as ssh-keygen -lf prints it: SHA256:…");
        return new SshTarget(address, user, port)
        {
            HostKey = string.IsNullOrWhiteSpace(HostKey) ? null : HostKey.Trim(),
            ConfigFile = string.IsNullOrWhiteSpace(SshConfigFile) ? null : SshConfigFile,
            IdentityFile = string.IsNullOrWhiteSpace(SshIdentityFile) ? null : SshIdentityFile,
        };
    }

    [System.Text.RegularExpressions.GeneratedRegex("^SHA256:[A-Za-z0-9+/]{43}=?$")]
    private static partial System.Text.RegularExpressions.Regex PinPattern();

    int ParseTimeout()
    {
        if (!int.TryParse(TimeoutSeconds, NumberStyles.None, CultureInfo.InvariantCulture, out int seconds) || seconds < 1)
            throw new AnemosException(Diagnostics.DeploySettingInvalid, "AnemosDeployTimeout", TimeoutSeconds, "a whole number of seconds, such as 1800");
        return seconds;
    }

    /// <summary>
    /// The host's facts from its helper, and the host's deploy lock. An installed helper in range
    /// takes the lock itself. A missing helper or one out of range is replaced by the SDK's: it is
    /// uploaded under a name of this deploy's own (so two uploads never share a file) and proven by
    /// sha256, takes the lock from there, and only then, under the lock, is renamed over the
    /// installed one: a deploy that cannot take the lock never touches the helper another one runs.
    /// </summary>
    (JsonElement Facts, string How) EnsureHelperAndHold(SshSession session, HelperCompatibility compatibility, DeployProgress.Phase phase, string owner, out RemoteProcess? hold)
    {
        // Nothing runs from, or is installed under, a state folder someone but root could change.
        var trust = session.Run(RemoteFolderTrust.Command(_state + "/bin"), cancellationToken: CancellationToken);
        if (trust.ExitCode != 0)
            throw new AnemosException(Diagnostics.StateFolderUntrusted, _target.Display, _state, SshSession.LastLine(trust.Output + "\n" + trust.Errors));
        var first = session.Run(Helper("--json facts"), cancellationToken: CancellationToken);
        var facts = ParseResult(first.Output);
        string? version = facts is { } f && f.TryGetProperty("facts", out var inner) ? Text(inner, "helperVersion") : null;
        if (facts is { } existing && compatibility.Accepts(version))
        {
            hold = HoldHost(session, owner, _helper);
            return (existing.GetProperty("facts"), "already installed");
        }

        string reason = version is null ? "missing" : $"{version} is outside {compatibility.Range.ToNormalizedString()}";
        string candidate = $"{_state}/bin/anemos-kexec.{Guid.NewGuid():N}";
        string quotedCandidate = ShellQuoting.Quote(candidate);
        hold = null;
        try
        {
            phase.BytesSent += session.Upload(HelperFile, candidate, FileDigest.OfFile(HelperFile, CancellationToken), CancellationToken);
            session.RunChecked($"chmod 0755 {quotedCandidate}", CancellationToken);
            hold = HoldHost(session, owner, quotedCandidate);
            session.RunChecked($"mv -f {quotedCandidate} {_helper}", CancellationToken);
        }
        catch
        {
            hold?.Dispose();
            hold = null;
            session.Run($"rm -f {quotedCandidate} {ShellQuoting.Quote(candidate + ".part")}", cancellationToken: CancellationToken.None);
            throw;
        }
        var second = session.Run(Helper("--json facts"), cancellationToken: CancellationToken);
        if (ParseResult(second.Output) is not { } installed || !installed.TryGetProperty("facts", out var installedFacts))
        {
            hold.Dispose();
            hold = null;
            throw Unusable(session, second);
        }
        return (installedFacts, $"installed, was {reason}");
    }

    /// <summary>ANEMOS4030 before anything is uploaded, when the state folder cannot hold the stage's peak (docs/deploy.md).</summary>
    void CheckRoom(JsonElement facts, IEnumerable<long> arriving, long initramfsSize)
    {
        if (!facts.TryGetProperty("stateFreeBytes", out var free) || free.ValueKind != JsonValueKind.Number) return;
        var sizes = arriving.ToList();
        long peak = StateRoom.Peak(sizes, initramfsSize);
        if (free.GetInt64() < peak)
            throw new AnemosException(Diagnostics.StateFolderFull, _target.Display, _state, ByteSize.Format(free.GetInt64()), ByteSize.Format(peak),
                $"{ByteSize.Format(sizes.Sum())} arriving, the initramfs {ByteSize.Format(initramfsSize)} twice, {ByteSize.Format(StateRoom.MarginBytes)} margin");
    }

    /// <summary>ANEMOS4014: the helper does not run on the host, with the host's machine type.</summary>
    AnemosException Unusable(SshSession session, RemoteResult result)
    {
        string machine = session.Run("uname -m", cancellationToken: CancellationToken).Output.Trim();
        return new AnemosException(Diagnostics.HelperUnusable, _target.Display,
            $"{SshSession.LastLine(result.Errors + "\n" + result.Output)} (exit {result.ExitCode}, machine {(machine.Length > 0 ? machine : "unknown")})", _state + "/bin");
    }

    /// <summary>The deploy's lock on the host, held by a helper process (at <paramref name="helper"/>, quoted) for as long as this connection lives.</summary>
    RemoteProcess HoldHost(SshSession session, string owner, string helper)
    {
        var hold = session.Start($"{helper} --state {ShellQuoting.Quote(_state)} hold --owner {ShellQuoting.Quote(owner)}", CancellationToken);
        if (hold.FirstLine is { } line && line.StartsWith("held", StringComparison.Ordinal)) return hold;
        string errors = hold.Errors();
        hold.Dispose();
        if (!errors.Contains("ANEMOS5018", StringComparison.Ordinal))
            throw Unusable(session, new RemoteResult(255, "", errors));
        string message = errors.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Replace("anemos-kexec: error ", "")).LastOrDefault() ?? "the helper's lock could not be taken";
        throw new AnemosException(Diagnostics.HostLockHeld, _target.Display, message);
    }

    /// <summary>Runs a helper command with --json; its refusal becomes ANEMOS4015 with the helper's own code and words.</summary>
    JsonElement RunHelper(SshSession session, string command, string name, Stream? input = null)
    {
        var result = session.Run(Helper("--json " + command), input, cancellationToken: CancellationToken);
        var parsed = ParseResult(result.Output);
        if (parsed is not { } json)
            throw new AnemosException(Diagnostics.HelperRefused, _target.Display, name, $"exit {result.ExitCode}", SshSession.LastLine(result.Errors) + ".");
        if (!json.GetProperty("ok").GetBoolean())
            throw new AnemosException(Diagnostics.HelperRefused, _target.Display, name, Text(json, "code"), Text(json, "message"));
        return json;
    }

    static JsonElement? ParseResult(string output)
    {
        int start = output.IndexOf('{');
        if (start < 0) return null;
        try
        {
            using var document = JsonDocument.Parse(output[start..]);
            return document.RootElement.TryGetProperty("ok", out _) ? document.RootElement.Clone() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    static string Text(JsonElement element, string property) =>
        element.TryGetProperty(property, out var value) ? value.ValueKind == JsonValueKind.String ? value.GetString() ?? "" : value.GetRawText() : "unknown";

    /// <summary>
    /// Waits, after the handover, for the new system: the old connection ends (closed by the
    /// shutdown, or silent after the kexec), then a login succeeds with the deployed host key and
    /// the host has another boot id. A refusal the detached boot wrote stops the deploy instead;
    /// so does an old system that is still there after 10 minutes, or a host that is not back by
    /// the deadline. Returns a session to the new system.
    /// </summary>
    SshSession WaitForNewSystem(SshSession session, string oldBootId, DateTimeOffset deadline, int timeout, ref RemoteProcess? hold, out string wentAway)
    {
        var handedOver = DateTimeOffset.UtcNow;
        var leaveBy = handedOver + LeaveLimit < deadline ? handedOver + LeaveLimit : deadline;
        var newTarget = _target with { HostKey = string.IsNullOrWhiteSpace(DeployedHostKey) ? _target.HostKey : DeployedHostKey.Trim(), ConnectTimeoutSeconds = 5 };
        bool connectionAlive = true, sawItDown = false;
        string lastSeen = "answering ssh";
        string? left = null;
        int loginFailures = 0;
        while (true)
        {
            CancellationToken.ThrowIfCancellationRequested();
            if (connectionAlive)
            {
                var log = session.Run($"cat {ShellQuoting.Quote(_state + "/boot.json")} 2>/dev/null", TimeSpan.FromSeconds(5), CancellationToken);
                if (log.ExitCode == 0 && ParseResult(log.Output) is { } result)
                {
                    if (!result.GetProperty("ok").GetBoolean())
                        throw new AnemosException(Diagnostics.HelperRefused, _target.Display, "boot", Text(result, "code"), Text(result, "message"));
                    lastSeen = "the helper handed over; the old system is shutting down";
                }
                if (log.ExitCode == 255)
                {
                    connectionAlive = false;
                    left = $"at {DateTimeOffset.UtcNow:HH:mm:ss}";
                    hold?.Dispose();
                    hold = null;
                    session.Dispose();
                }
                else
                {
                    if (DateTimeOffset.UtcNow > leaveBy) throw DidNotLeave(handedOver, lastSeen, session);
                    Thread.Sleep(TimeSpan.FromSeconds(1));
                    continue;
                }
            }

            // The probe is a login as the deploy makes it, through the user's ssh config (ProxyJump,
            // aliases) with the deployed pin: no side door to the address, no scan of another path.
            SshSession? candidate = null;
            try
            {
                candidate = SshSession.Open(newTarget, CancellationToken);
                string bootId = candidate.Run("cat /proc/sys/kernel/random/boot_id", TimeSpan.FromSeconds(30), CancellationToken).Output.Trim();
                if (bootId.Length > 0 ? bootId != oldBootId : sawItDown)
                {
                    wentAway = left ?? "";
                    return candidate;
                }
                lastSeen = $"{DateTimeOffset.UtcNow:HH:mm:ss} the old system answers again (same boot)";
                // Over this login to the old system, the deploy kernel is unloaded before giving up.
                if (DateTimeOffset.UtcNow > leaveBy)
                    using (candidate) throw DidNotLeave(handedOver, lastSeen, candidate);
                candidate.Dispose();
            }
            catch (AnemosException e) when (e.Diagnostic == Diagnostics.HostKeyMismatch)
            {
                candidate?.Dispose();
                // The old system's key (a first install pins the stock image's): it is still shutting down.
                var offered = e.Arguments.Length > 1 ? (e.Arguments[1]?.ToString() ?? "") : "";
                bool oldSystem = _target.HostKey is { } oldPin && offered.Split(", ").Any(f => HostKeyFingerprint.Matches(oldPin, f));
                if (!oldSystem) throw new AnemosException(Diagnostics.VerifyLoginFailed, newTarget.Display, offered, e.Message);
                lastSeen = $"{DateTimeOffset.UtcNow:HH:mm:ss} the old system's host key still answers";
                if (DateTimeOffset.UtcNow > leaveBy) throw DidNotLeave(handedOver, lastSeen);
            }
            catch (AnemosException e) when (e.Diagnostic == Diagnostics.SshConnectFailed)
            {
                candidate?.Dispose();
                if (SshSession.LooksUnreachable(e.Message))
                {
                    sawItDown = true;
                    lastSeen = $"{DateTimeOffset.UtcNow:HH:mm:ss} no ssh server answered ({e.Arguments.ElementAtOrDefault(1)})";
                }
                else
                {
                    // Just started: sshd may answer before it takes logins. A few tries, then a clear error.
                    lastSeen = $"{DateTimeOffset.UtcNow:HH:mm:ss} answers, but logging in failed: {e.Message}";
                    if (++loginFailures >= 5) throw new AnemosException(Diagnostics.VerifyLoginFailed, newTarget.Display, "an ssh server that answered", e.Message);
                }
            }
            if (DateTimeOffset.UtcNow > deadline)
                throw new AnemosException(Diagnostics.HostDidNotReturn, _target.Display, left ?? "", timeout, lastSeen);
            Thread.Sleep(TimeSpan.FromSeconds(2));
        }
    }

    /// <summary>
    /// ANEMOS4016, with the end of the helper's boot.log while the old connection still works; over
    /// that connection the deploy kernel is unloaded, so no later reboot starts the installer.
    /// </summary>
    AnemosException DidNotLeave(DateTimeOffset handedOver, string lastSeen, SshSession? session = null)
    {
        string log = session?.Run($"tail -n 5 {ShellQuoting.Quote(_state + "/boot.log")} 2>&1", TimeSpan.FromSeconds(10), CancellationToken).Output.Trim() ?? "";
        if (log.Length > 0) lastSeen += "; the helper's boot.log ends: " + string.Join(" | ", log.Split('\n'));
        string kernel = "the old system answers only new logins, so whether the deploy kernel is still loaded is unknown: run anemos-kexec unload on the host before anything reboots it";
        if (session is not null)
        {
            var unload = session.Run(Helper("--json unload"), TimeSpan.FromSeconds(30), CancellationToken.None);
            kernel = unload.ExitCode == 0
                ? "the deploy kernel was unloaded, so no later reboot starts it"
                : $"unloading the deploy kernel failed ({SshSession.LastLine(unload.Errors + "\n" + unload.Output)}): run anemos-kexec unload on the host before anything reboots it";
        }
        return new AnemosException(Diagnostics.HostDidNotLeave, _target.Display, (int)(DateTimeOffset.UtcNow - handedOver).TotalSeconds, lastSeen, kernel);
    }

    /// <summary>Compares the payload the new system reports with the deployed one, then runs the health check.</summary>
    string Verify(AnemosManifest manifest, SshSession session)
    {
        string reported = session.Run($"cat {PayloadReportPath} 2>/dev/null", TimeSpan.FromSeconds(60), CancellationToken).Output.Trim();
        if (reported.Length > 0 && reported != manifest.Payload.Sha256)
            throw new AnemosException(Diagnostics.PayloadMismatch, _target.Display, reported, manifest.Payload.Sha256);
        string detail = reported.Length > 0 ? $"reports payload {reported[..Math.Min(12, reported.Length)]}" : $"reached (the new system does not report a payload in {PayloadReportPath})";

        if (!string.IsNullOrWhiteSpace(HealthCheck))
        {
            var health = session.Run(HealthCheck, TimeSpan.FromMinutes(5), CancellationToken);
            if (health.ExitCode != 0)
                throw new AnemosException(Diagnostics.HealthCheckFailed, _target.Display, HealthCheck, health.ExitCode, SshSession.LastLine(health.Errors + "\n" + health.Output));
            detail += ", healthy";
        }
        return detail;
    }

}
