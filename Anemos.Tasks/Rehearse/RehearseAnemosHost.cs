using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Anemos.Core.Initramfs;
using Microsoft.Build.Framework;

namespace Anemos.Tasks;

/// <summary>
/// Boots a host's very kernel and initramfs in QEMU with blank disks shaped like the host's, its
/// console streamed into the build output, and turns the deploy init's result line into success
/// or a coded error. The kernel command line asks the deploy init to power off either way, so the
/// rehearsal ends by itself; the disk images stay in the work folder for inspection.
/// </summary>
public sealed partial class RehearseAnemosHost : AnemosTask
{
    [Required] public string HostName { get; set; } = "";
    [Required] public string KernelFile { get; set; } = "";
    [Required] public string InitramfsFile { get; set; } = "";
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
    /// An http URL on 127.0.0.1 (AnemosRehearseMirror): QEMU forwards the guest's 10.0.2.100:80
    /// to it (guestfwd), and the rehearsal's /anemos/rehearse.env sets <see cref="MirrorVariable"/>
    /// to the guest's view of it, so the IMGBUILD installs from it.
    /// </summary>
    public string? Mirror { get; set; }
    /// <summary>The host variable that names the mirror for the IMGBUILD (MIRROR in the samples).</summary>
    public string MirrorVariable { get; set; } = "MIRROR";
    /// <summary>The host's AnemosSecret items: resolved now, appended in a temporary folder, deleted afterwards.</summary>
    public ITaskItem[] Secrets { get; set; } = [];
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

    [Output] public string? ConsoleLog { get; set; }
    [Output] public string? Result { get; set; }

    [GeneratedRegex(@"\x1b(\[[0-9;?]*[A-Za-z]|c|\([A-Z0-9])")]
    internal static partial Regex EscapeSequence();

    [GeneratedRegex(@"ANEMOS-RESULT (ok|fail)\b.*?step=(\S+)")]
    private static partial Regex ResultLine();

    [GeneratedRegex(@"^([0-9]+)([KMGT]?)(i?B)?$")]
    private static partial Regex DiskSize();

    protected override void ExecuteCore()
    {
        string qemu = ResolveQemu() ?? throw new AnemosException(Diagnostics.QemuMissing, Qemu);
        var mirror = ParseMirror();
        bool boot = BootInstalled.Trim().ToLowerInvariant() switch
        {
            "" or "auto" => PayloadKind == "imgbuild",
            "true" => true,
            "false" => false,
            _ => throw new AnemosException(Diagnostics.RehearseBootInvalid, BootInstalled),
        };
        var installedNetwork = boot ? ParseInstalledNetwork() : null;
        Directory.CreateDirectory(WorkDirectory);
        var disks = CreateDisks();
        if (Log.HasLoggedErrors) return;

        // Secrets live in a private temporary folder for the rehearsal only, as a deploy's do.
        string? secretsFolder = null;
        try
        {
            var secretSegment = ResolveSecrets(ref secretsFolder);
            string initramfs = WithHostSegments(mirror, secretSegment, secretsFolder);
            // What the install must leave alone: the sha256 of every disk with content (a Source) now;
            // the install disk is known after the run. Blank disks are not read (an 8 GiB sparse file).
            var before = boot ? _sourced.ToDictionary(d => d, Sha256Of) : null;

            ConsoleLog = Path.Combine(WorkDirectory, "console.log");
            string accelerator = ChooseAccelerator();
            Log.LogMessage(MessageImportance.High, $"  rehearse {HostName}: QEMU ({accelerator}, {MemoryMiB} MiB, {disks.Count} disk(s){(mirror is null ? "" : $", mirror {Mirror} as {mirror.Value.Guest}")}); console follows");
            var installStarted = Stopwatch.StartNew();
            using var install = new VmRun(this, qemu, InstallArguments(accelerator, disks, initramfs, mirror), ConsoleLog);
            bool exited = install.WaitForExit(TimeSpan.FromSeconds(TimeoutSeconds), CancellationToken);
            var installTime = installStarted.Elapsed;
            DeleteSecrets(ref secretsFolder);

            string? result = install.Result;
            Result = result;
            var match = result is null ? null : ResultLine().Match(result);
            if (match is not { Success: true } || match.Groups[1].Value != "ok")
            {
                install.LogTail();
                if (match is { Success: true })
                    throw new AnemosException(Diagnostics.RehearsalFailed, HostName, match.Groups[2].Value, ConsoleLog);
                if (!exited)
                    throw new AnemosException(Diagnostics.RehearsalTimedOut, HostName, TimeoutSeconds, ConsoleLog, install.LastLine);
                throw new AnemosException(Diagnostics.RehearsalNoResult, HostName, ConsoleLog, install.QemuErrors.Length > 0 ? OneLine(install.QemuErrors) : install.LastLine);
            }
            if (!boot)
            {
                Log.LogMessage(MessageImportance.High, $"  rehearse {HostName}: the deploy init reported success in {Duration(installTime)}; disks in {WorkDirectory}");
                return;
            }

            // Phase 2: the install disk alone, booted by the VM's firmware, as the server reboots into it.
            int index = install.InstallDiskIndex;
            if (index < 0 || index >= disks.Count)
                throw new AnemosException(Diagnostics.RehearseInstallDiskUnknown, HostName, ConsoleLog, install.LastLine);
            Log.LogMessage(MessageImportance.High, $"  rehearse {HostName}: installed in {Duration(installTime)}; booting {Path.GetFileName(disks[index])} with the VM's firmware (no -kernel)");
            string bootLog = Path.Combine(WorkDirectory, "boot-console.log");
            int port = FreePort();
            var bootStarted = Stopwatch.StartNew();
            TimeSpan loginTime, sshTime, healthyTime;
            bool hadSecrets = secretSegment is not null;
            string keyReport, healthReport = "";
            using (var booted = new VmRun(this, qemu, BootArguments(accelerator, disks[index], installedNetwork, port), bootLog))
            {
                var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(BootTimeoutSeconds);
                while (booted.LoginAt is null && booted.FirmwareGaveUp is null && !booted.HasExited && DateTime.UtcNow < deadline)
                {
                    CancellationToken.ThrowIfCancellationRequested();
                    Thread.Sleep(250);
                }
                if (booted.LoginAt is null && booted.FirmwareGaveUp is { } gaveUp)
                {
                    // Nothing will boot after this (SeaBIOS only retries the same disks): end now, not at the timeout.
                    var at = bootStarted.Elapsed;
                    booted.Stop();
                    booted.LogTail();
                    throw new AnemosException(Diagnostics.RehearseNotBootable, HostName, Duration(at), gaveUp, bootLog);
                }
                if (booted.LoginAt is null)
                {
                    booted.Stop();
                    booted.LogTail();
                    throw new AnemosException(Diagnostics.RehearseNoLogin, HostName, BootTimeoutSeconds, bootLog, booted.LastLine);
                }
                loginTime = booted.LoginAt.Value;
                // ssh-keyscan makes one connection per key type, and under emulation one may time out
                // while sshd starts: scan until the pinned key (or, without one, any key) has answered,
                // or three scans that reached sshd did not show it.
                string? wanted = string.IsNullOrWhiteSpace(HostKey) ? null : HostKey.Trim();
                var keys = new List<string>();
                int answered = 0;
                while (!booted.HasExited && DateTime.UtcNow < deadline)
                {
                    var scanned = KeyScan(port);
                    foreach (string key in scanned) if (!keys.Contains(key)) keys.Add(key);
                    if (wanted is null ? keys.Count > 0 : keys.Contains(wanted)) break;
                    if (scanned.Count > 0 && ++answered == 3) break;
                    Thread.Sleep(1000);
                }
                sshTime = bootStarted.Elapsed;
                if (keys.Count == 0)
                {
                    booted.Stop();
                    booted.LogTail();
                    throw new AnemosException(Diagnostics.RehearseNoSsh, HostName, BootTimeoutSeconds, installedNetwork?.Guest ?? "10.0.2.15", bootLog, booted.LastLine);
                }

                string pin;
                if (wanted is not null && keys.Contains(wanted))
                {
                    pin = wanted;
                    keyReport = $"with {HostName}'s own host key {pin}";
                }
                else if (wanted is not null && hadSecrets)
                {
                    booted.Stop();
                    booted.LogTail();
                    throw new AnemosException(Diagnostics.RehearseHostKeyMismatch, HostName, string.Join(", ", keys), wanted);
                }
                else
                {
                    pin = keys[0];
                    keyReport = $"with host key {pin}{(hadSecrets ? "" : " (the rehearsal had no secrets)")}";
                }

                if (!string.IsNullOrWhiteSpace(HealthCheck))
                {
                    Ssh.RemoteResult? failure;
                    try
                    {
                        failure = RunHealthCheck(port, pin, deadline, booted);
                    }
                    catch (AnemosException)
                    {
                        // The login itself failed (the ssh session's coded error): the console first.
                        booted.Stop();
                        booted.LogTail();
                        throw;
                    }
                    if (failure is not null)
                    {
                        booted.Stop();
                        booted.LogTail();
                        throw new AnemosException(Diagnostics.RehearseUnhealthy, HostName, HealthCheck.Trim(), BootTimeoutSeconds, failure.ExitCode, Ssh.SshSession.LastLine(failure.Errors + "\n" + failure.Output), bootLog);
                    }
                    healthReport = $"health check passed after {Duration(bootStarted.Elapsed)}";
                }
                healthyTime = bootStarted.Elapsed;
                booted.Stop();
                if (booted.FailedUnits.Count > 0)
                    Log.LogMessage(MessageImportance.High, $"  rehearse {HostName}: systemd reported {booted.FailedUnits.Count} failure(s) on the console: {string.Join("; ", booted.FailedUnits.Take(5))}");
            }

            foreach (var (disk, sha) in before!)
            {
                if (disk == disks[index]) continue;
                string after = Sha256Of(disk);
                if (after != sha) throw new AnemosException(Diagnostics.RehearseDiskChanged, HostName, Path.GetFileName(disk), sha[..12], after[..12]);
            }
            int others = before.Keys.Count(d => d != disks[index]);
            Log.LogMessage(MessageImportance.High,
                $"  rehearse {HostName}: installed in {Duration(installTime)}, booted from disk to login in {Duration(loginTime)}, healthy: sshd answers {keyReport} after {Duration(sshTime)}"
                + (healthReport.Length > 0 ? $", {healthReport}" : "")
                + (others > 0 ? $"; {others} other disk(s) unchanged" : "") + $"; total {Duration(installTime + healthyTime)}");
        }
        finally
        {
            DeleteSecrets(ref secretsFolder);
        }
    }

    /// <summary>
    /// The health check over ssh as root, the host key pinned, until it passes (a system still
    /// starting its services becomes healthy) or the boot deadline; null when it passed, else the
    /// last result. A login that fails is the ssh session's own coded error.
    /// </summary>
    Ssh.RemoteResult? RunHealthCheck(int port, string pin, DateTime deadline, VmRun booted)
    {
        var target = new Ssh.SshTarget("127.0.0.1", "root", port)
        {
            HostKey = pin,
            ConfigFile = string.IsNullOrWhiteSpace(SshConfigFile) ? null : SshConfigFile,
            IdentityFile = string.IsNullOrWhiteSpace(SshIdentityFile) ? null : SshIdentityFile,
        };
        using var session = Ssh.SshSession.Open(target, CancellationToken);
        while (true)
        {
            var result = session.Run(HealthCheck!, TimeSpan.FromMinutes(2), CancellationToken);
            if (result.ExitCode == 0) return null;
            if (booted.HasExited || DateTime.UtcNow > deadline) return result;
            Thread.Sleep(2000);
        }
    }

    static string Duration(TimeSpan time) =>
        time.TotalMinutes >= 1 ? $"{(int)time.TotalMinutes}m{time.Seconds:00}s" : $"{time.TotalSeconds:0}s";

    static string Sha256Of(string file)
    {
        using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1 << 20);
        return Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(stream));
    }

    static int FreePort()
    {
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        int port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    /// <summary>The host keys sshd answers with on 127.0.0.1:PORT, as SHA256 fingerprints (ssh-keygen -l's form).</summary>
    List<string> KeyScan(int port)
    {
        var start = new ProcessStartInfo("ssh-keyscan") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string argument in new[] { "-T", "15", "-p", port.ToString(CultureInfo.InvariantCulture), "127.0.0.1" }) start.ArgumentList.Add(argument);
        var fingerprints = new List<string>();
        try
        {
            using var process = Process.Start(start)!;
            var errors = process.StandardError.ReadToEndAsync();
            string output = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            foreach (string line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (line.StartsWith('#')) continue;
                string[] words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (words.Length < 3) continue;
                try
                {
                    byte[] blob = Convert.FromBase64String(words[2]);
                    string fingerprint = "SHA256:" + Convert.ToBase64String(System.Security.Cryptography.SHA256.HashData(blob)).TrimEnd('=');
                    // ed25519 first: the key ssh prefers, so the one to pin when the host has no HostKey.
                    if (words[1] == "ssh-ed25519") fingerprints.Insert(0, fingerprint);
                    else fingerprints.Add(fingerprint);
                }
                catch (FormatException) { }
            }
        }
        catch (System.ComponentModel.Win32Exception)
        {
            throw new AnemosException(Diagnostics.RehearseNoSsh, HostName, 0, "ssh-keyscan is not installed (apt-get install openssh-client)", ConsoleLog, "");
        }
        return fingerprints;
    }

    /// <summary>AnemosRehearseMirror: (port on 127.0.0.1, the URL as the guest sees it).</summary>
    (int Port, string Guest)? ParseMirror()
    {
        if (string.IsNullOrWhiteSpace(Mirror)) return null;
        if (!Uri.TryCreate(Mirror.Trim(), UriKind.Absolute, out var uri) || uri.Scheme != "http"
            || uri.Host is not ("127.0.0.1" or "localhost") || uri.IsDefaultPort && !Mirror.Contains(":80", StringComparison.Ordinal)
            || uri.Query.Length > 0 || uri.UserInfo.Length > 0)
            throw new AnemosException(Diagnostics.RehearseMirrorInvalid, Mirror);
        return (uri.Port, "http://" + GuestMirrorAddress + uri.AbsolutePath);
    }

    /// <summary>
    /// The user network's guestfwd from the guest's ADDRESS:80 to 127.0.0.1:PORT: one bash
    /// /dev/tcp relay per connection (a tcp chardev would carry a single connection). The address
    /// must lie in the user network's net.
    /// </summary>
    public static string MirrorForward(string guestAddress, int port) =>
        $"guestfwd=tcp:{guestAddress}:80-cmd:/bin/bash -c 'exec 3<>/dev/tcp/127.0.0.1/{port.ToString(CultureInfo.InvariantCulture)}; cat <&3 & exec cat >&3'";

    /// <summary>Where the guest reaches the mirror: QEMU's guestfwd listens there (port 80).</summary>
    public const string GuestMirrorAddress = "10.0.2.100";

    /// <summary>The installed system's network for QEMU: net, host (gateway) and the guest's address.</summary>
    internal sealed record InstalledNetwork(string Net, string Gateway, string Guest);

    InstalledNetwork? ParseInstalledNetwork()
    {
        if (string.IsNullOrWhiteSpace(InstalledAddress)) return null;
        string[] parts = InstalledAddress.Trim().Split('/');
        if (parts.Length != 2 || !System.Net.IPAddress.TryParse(parts[0], out var address) || address.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork
            || !int.TryParse(parts[1], out int prefix) || prefix is < 8 or > 30)
            throw new AnemosException(Diagnostics.RehearseAddressInvalid, InstalledAddress, InstalledGateway ?? "");
        uint mask = prefix == 0 ? 0 : uint.MaxValue << (32 - prefix);
        uint value = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(address.GetAddressBytes());
        string Format(uint v) { var b = new byte[4]; System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(b, v); return new System.Net.IPAddress(b).ToString(); }
        string gateway;
        if (!string.IsNullOrWhiteSpace(InstalledGateway))
        {
            if (!System.Net.IPAddress.TryParse(InstalledGateway.Trim(), out var g) || g.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork
                || (System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(g.GetAddressBytes()) & mask) != (value & mask))
                throw new AnemosException(Diagnostics.RehearseAddressInvalid, InstalledAddress, InstalledGateway);
            gateway = g.ToString();
        }
        else gateway = Format((value & mask) + 1 == value ? (value & mask) + 2 : (value & mask) + 1);
        return new InstalledNetwork($"{Format(value & mask)}/{prefix}", gateway, address.ToString());
    }

    /// <summary>The last line of some text: an error message stays on one line (MSBuild repeats the code on every line).</summary>
    static string OneLine(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault() ?? "(nothing)";

    internal IEnumerable<string> InstallArguments(string accelerator, List<string> disks, string initramfs, (int Port, string Guest)? mirror)
    {
        string commandLine = $"console=ttyS0 panic=-1 {DeployInitContract.CommandLine.OnSuccess}=poweroff {DeployInitContract.CommandLine.OnFailure}=poweroff {CommandLine}".Trim();
        // User networking restricted to the VM: DHCP from QEMU, nothing beyond it, except the
        // mirror at the guest's 10.0.2.100:80.
        string network = "user,id=net0,restrict=on";
        if (mirror is { } m)
            network += "," + MirrorForward(GuestMirrorAddress, m.Port);
        string[] fixedArguments =
        [
            "-accel", accelerator, "-m", MemoryMiB.ToString(CultureInfo.InvariantCulture),
            "-nographic", "-no-reboot", "-nodefaults", "-serial", "stdio", "-monitor", "none",
            "-kernel", KernelFile, "-initrd", initramfs, "-append", commandLine,
            "-netdev", network, "-device", "virtio-net-pci,netdev=net0",
        ];
        foreach (string argument in fixedArguments) yield return argument;
        // Each disk has a serial, as a server's disks do: anemos-disk0, anemos-disk1, … in order
        // (/dev/disk/by-id/virtio-anemos-diskN where udev runs). cache=unsafe: the images are
        // scratch files, so the guest's flushes (dpkg syncs every file it unpacks) need not reach
        // the host's disk; what the guest wrote is in the file when QEMU has exited.
        for (int i = 0; i < disks.Count; i++)
        {
            yield return "-drive";
            yield return $"file={disks[i]},format=raw,if=none,id=disk{i},cache=unsafe";
            yield return "-device";
            yield return $"virtio-blk-pci,drive=disk{i},serial={SerialOf(i)}";
        }
    }

    /// <summary>The install disk alone, booted by SeaBIOS; sshd forwarded to 127.0.0.1:PORT.</summary>
    internal IEnumerable<string> BootArguments(string accelerator, string disk, InstalledNetwork? network, int port)
    {
        string netdev = network is null
            ? $"user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:{port}-:22"
            : $"user,id=net0,restrict=on,net={network.Net},host={network.Gateway},hostfwd=tcp:127.0.0.1:{port}-{network.Guest}:22";
        return
        [
            "-accel", accelerator, "-m", MemoryMiB.ToString(CultureInfo.InvariantCulture),
            "-nographic", "-no-reboot", "-nodefaults", "-serial", "stdio", "-monitor", "none",
            "-boot", "c", "-netdev", netdev, "-device", "virtio-net-pci,netdev=net0",
            "-drive", $"file={disk},format=raw,if=none,id=disk0", "-device", $"virtio-blk-pci,drive=disk0,serial={SerialOf(0)},bootindex=0",
        ];
    }

    public static string SerialOf(int index) => "anemos-disk" + index.ToString(CultureInfo.InvariantCulture);

    /// <summary>The secrets segment in a fresh private temporary folder, or null without secrets (or when one cannot be resolved: a warning).</summary>
    string? ResolveSecrets(ref string? folder)
    {
        if (Secrets.Length == 0) return null;
        IReadOnlyList<Deploy.ResolvedSecret> secrets;
        try
        {
            secrets = Deploy.DeploySecrets.Resolve(Secrets, ProjectDirectory ?? Directory.GetCurrentDirectory(), CancellationToken);
        }
        catch (AnemosException e)
        {
            LogDiagnostic(Diagnostics.RehearseSecretsSkipped, HostName, e.Message);
            return null;
        }
        // CreateTempSubdirectory makes the folder 0700 on Unix.
        folder = Directory.CreateTempSubdirectory("anemos-rehearse-").FullName;
        string segment = Path.Combine(folder, "secrets.cpio");
        File.WriteAllBytes(segment, Deploy.DeploySecrets.WriteSegment(secrets));
        Log.LogMessage(MessageImportance.High, $"  rehearse {HostName}: {secrets.Count} secret(s) in a temporary segment, deleted after the install");
        return segment;
    }

    static void DeleteSecrets(ref string? folder)
    {
        if (folder is null) return;
        try { Directory.Delete(folder, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        folder = null;
    }

    /// <summary>
    /// The host's initramfs untouched, then the segments the helper appends on the host: the network
    /// snapshot (/anemos/network.conf) and the boot disk (/anemos/boot-disk); then the rehearsal's
    /// own /anemos/rehearse.env (the mirror) and the secrets. With secrets, the result goes to the
    /// secrets' temporary folder, never to obj/.
    /// </summary>
    string WithHostSegments((int Port, string Guest)? mirror, string? secretSegment, string? secretsFolder)
    {
        var segments = new List<string>();
        string project = ProjectDirectory ?? Directory.GetCurrentDirectory();
        if (!string.IsNullOrEmpty(NetworkConfig))
        {
            string networkConfig = Path.GetFullPath(NetworkConfig, project);
            if (!File.Exists(networkConfig)) throw new AnemosException(Diagnostics.RehearseNetworkConfigMissing, networkConfig);
            string segment = Path.Combine(WorkDirectory, "network.cpio");
            Anemos.Core.Initramfs.HostSegments.WriteNetworkConf(segment, File.ReadAllBytes(networkConfig));
            segments.Add(segment);
        }
        byte[]? bootDisk = null;
        if (BootDisk is { Length: > 0 } && BootDisk != "none")
        {
            string file = Path.GetFullPath(BootDisk, project);
            if (!File.Exists(file)) throw new AnemosException(Diagnostics.RehearseBootDiskMissing, file);
            bootDisk = File.ReadAllBytes(file);
        }
        else if (string.IsNullOrEmpty(BootDisk) && string.IsNullOrEmpty(TargetDisk))
        {
            bootDisk = System.Text.Encoding.UTF8.GetBytes($"# Anemos boot disk, format 1\nserial {SerialOf(0)}\n");
        }
        if (bootDisk is not null)
        {
            string segment = Path.Combine(WorkDirectory, "boot-disk.cpio");
            Anemos.Core.Initramfs.HostSegments.WriteBootDisk(segment, bootDisk);
            segments.Add(segment);
        }
        string rehearseSegment = Path.Combine(WorkDirectory, "rehearse.cpio");
        File.Delete(rehearseSegment);
        if (mirror is { } m)
        {
            Anemos.Core.Initramfs.HostSegments.WriteRehearseEnv(rehearseSegment,
                System.Text.Encoding.UTF8.GetBytes($"# Anemos rehearsal only: overrides host variables in the VM\n{MirrorVariable}={m.Guest}\n"));
            segments.Add(rehearseSegment);
        }
        if (secretSegment is not null) segments.Add(secretSegment);
        string initramfs = Path.Combine(secretsFolder ?? WorkDirectory, "initramfs.img");
        File.Delete(Path.Combine(WorkDirectory, "initramfs.img"));
        if (segments.Count == 0) return InitramfsFile;
        Anemos.Core.Initramfs.InitramfsLayout.AssembleFile(InitramfsFile, segments, initramfs, CancellationToken);
        return initramfs;
    }

    readonly List<string> _sourced = [];

    List<string> CreateDisks()
    {
        var disks = new List<string>();
        var items = Disks.Length > 0 ? Disks : [new Microsoft.Build.Utilities.TaskItem("disk0", new Dictionary<string, string> { ["Size"] = "8G" })];
        foreach (var item in items)
        {
            string sizeText = item.GetMetadata("Size") is { Length: > 0 } s ? s.Trim() : "8G";
            var match = DiskSize().Match(sizeText);
            if (!match.Success || !long.TryParse(match.Groups[1].Value, out long number) || number <= 0)
            {
                LogDiagnostic(Diagnostics.InvalidRehearseDisk, item.ItemSpec, sizeText);
                continue;
            }
            int shift = "KMGT".IndexOf(match.Groups[2].Value is { Length: 1 } u ? u[0] : '-') is int i and >= 0 ? (i + 1) * 10 : 0;
            string path = Path.Combine(WorkDirectory, Path.GetFileName(item.ItemSpec) + ".img");
            File.Delete(path);
            string source = item.GetMetadata("Source");
            if (source.Length > 0)
            {
                // A disk with content, such as a /home disk that a deploy must leave alone.
                string sourcePath = Path.GetFullPath(source, ProjectDirectory ?? Directory.GetCurrentDirectory());
                if (!File.Exists(sourcePath)) { LogDiagnostic(Diagnostics.InvalidRehearseDisk, item.ItemSpec, $"Source {source} (missing)"); continue; }
                File.Copy(sourcePath, path);
                _sourced.Add(path);
                if (new FileInfo(path).Length < number << shift)
                    using (var file = new FileStream(path, FileMode.Open)) file.SetLength(number << shift);
            }
            else
            {
                // A fresh blank, sparse disk for every rehearsal: what a blank server disk looks like.
                using var file = new FileStream(path, FileMode.CreateNew);
                file.SetLength(number << shift);
            }
            disks.Add(path);
        }
        return disks;
    }

    string? ResolveQemu()
    {
        if (Qemu.Contains('/')) return File.Exists(Qemu) ? Qemu : null;
        foreach (string directory in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator))
        {
            string candidate = Path.Combine(directory, Qemu);
            if (directory.Length > 0 && File.Exists(candidate)) return candidate;
        }
        return null;
    }

    string ChooseAccelerator()
    {
        if (Accelerator is "kvm" or "tcg") return Accelerator;
        // /dev/kvm alone is not enough: some machines expose a paravirtual KVM that cannot run a normal kernel.
        bool hardware = Directory.Exists("/sys/module/kvm_intel") || Directory.Exists("/sys/module/kvm_amd");
        return hardware && File.Exists("/dev/kvm") ? "kvm" : "tcg";
    }

    /// <summary>
    /// One QEMU run: its console (serial on stdout) streamed into the build output and a log file,
    /// the last lines kept, the deploy init's result line, the install disk it named, and the moment
    /// a login prompt appeared (a prompt ends without a newline, so the console is read as it comes).
    /// </summary>
    sealed partial class VmRun : IDisposable
    {
        readonly RehearseAnemosHost _task;
        readonly Process _process;
        readonly StreamWriter _log;
        readonly Task _reading;
        readonly Task<string> _errors;
        readonly Queue<string> _tail = new();
        readonly Stopwatch _clock = Stopwatch.StartNew();

        [GeneratedRegex(@"install disk: /dev/vd([a-z])\b")]
        private static partial Regex InstallDiskLine();

        [GeneratedRegex(@"\S login:\s*$")]
        private static partial Regex LoginPrompt();

        /// <summary>The firmware found nothing to boot, or the boot loader stopped at its rescue prompt (neither ends with a newline).</summary>
        [GeneratedRegex(@"No bootable device|grub rescue>")]
        private static partial Regex GaveUp();

        public string? Result { get; private set; }
        public int InstallDiskIndex { get; private set; } = -1;
        public TimeSpan? LoginAt { get; private set; }
        /// <summary>What the console said when the firmware or the boot loader gave up, else null.</summary>
        public string? FirmwareGaveUp { get; private set; }
        public List<string> FailedUnits { get; } = [];
        public bool HasExited => _process.HasExited;
        public string QemuErrors => _errors.IsCompleted ? _errors.Result.Trim() : "";
        public string LastLine { get { lock (_tail) return _tail.LastOrDefault() ?? "(nothing)"; } }

        public VmRun(RehearseAnemosHost task, string qemu, IEnumerable<string> arguments, string logFile)
        {
            _task = task;
            var start = new ProcessStartInfo(qemu)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                RedirectStandardInput = true,
                UseShellExecute = false,
            };
            foreach (string argument in arguments) start.ArgumentList.Add(argument);
            _log = new StreamWriter(logFile) { AutoFlush = true };
            _process = Process.Start(start)!;
            _process.StandardInput.Close();
            _errors = _process.StandardError.ReadToEndAsync();
            _reading = Task.Run(Read);
        }

        void Read()
        {
            var reader = _process.StandardOutput;
            var buffer = new char[4096];
            var line = new System.Text.StringBuilder();
            int count;
            while ((count = reader.Read(buffer, 0, buffer.Length)) > 0)
            {
                for (int i = 0; i < count; i++)
                {
                    if (buffer[i] == '\n') { Line(line.ToString()); line.Clear(); }
                    else line.Append(buffer[i]);
                }
                if (line.Length > 0 && (LoginAt is null || FirmwareGaveUp is null))
                {
                    string partial = EscapeSequence().Replace(line.ToString(), "");
                    if (LoginAt is null && LoginPrompt().IsMatch(partial)) LoginAt = _clock.Elapsed;
                    if (FirmwareGaveUp is null && GaveUp().IsMatch(partial)) FirmwareGaveUp = partial.Trim();
                }
            }
            if (line.Length > 0) Line(line.ToString());
        }

        void Line(string raw)
        {
            string clean = EscapeSequence().Replace(raw, "").TrimEnd('\r');
            _log.WriteLine(clean);
            if (clean.Trim().Length == 0) return;
            _task.Log.LogMessage(MessageImportance.High, $"  [{_task.HostName}] {clean}");
            lock (_tail)
            {
                _tail.Enqueue(clean);
                if (_tail.Count > 15) _tail.Dequeue();
            }
            if (clean.Contains("ANEMOS-RESULT ", StringComparison.Ordinal)) Result = clean;
            if (InstallDiskIndex < 0 && InstallDiskLine().Match(clean) is { Success: true } disk) InstallDiskIndex = disk.Groups[1].Value[0] - 'a';
            if (clean.Contains("[FAILED]", StringComparison.Ordinal)) FailedUnits.Add(clean.Trim());
            if (LoginAt is null && LoginPrompt().IsMatch(clean)) LoginAt = _clock.Elapsed;
            if (FirmwareGaveUp is null && GaveUp().IsMatch(clean)) FirmwareGaveUp = clean.Trim();
        }

        /// <summary>Waits for QEMU to end by itself; false when the timeout stopped it.</summary>
        public bool WaitForExit(TimeSpan timeout, CancellationToken cancellation)
        {
            var deadline = DateTime.UtcNow + timeout;
            while (!_process.WaitForExit(500))
            {
                if (cancellation.IsCancellationRequested) { Stop(); cancellation.ThrowIfCancellationRequested(); }
                if (DateTime.UtcNow > deadline) { Stop(); return false; }
            }
            _reading.Wait();
            return true;
        }

        public void Stop()
        {
            try { if (!_process.HasExited) _process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            _process.WaitForExit();
            _reading.Wait();
        }

        /// <summary>The console's last lines, as one message, before the coded error.</summary>
        public void LogTail()
        {
            string lines;
            lock (_tail) lines = string.Join(Environment.NewLine + "    ", _tail);
            _task.Log.LogMessage(MessageImportance.High, $"  rehearse {_task.HostName}: the console's last lines:{Environment.NewLine}    {lines}");
        }

        public void Dispose()
        {
            Stop();
            _log.Dispose();
            _process.Dispose();
        }
    }
}
