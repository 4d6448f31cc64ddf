using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using Anemos.Tasks.Ssh;

namespace Anemos.Tasks.Rehearse;

/// <summary>
/// Phase 2 of a rehearsal, watched on a running VM that boots the install disk with its firmware:
/// a login prompt on the console, then sshd with the host's key (or any key), then the health check
/// over ssh as a deploy runs it. Each failure is a coded error; the firmware giving up ends the
/// wait at once, as nothing will boot after it.
/// </summary>
public sealed class InstalledSystemCheck
{
    public required string HostName { get; init; }
    /// <summary>The host's HostKey pin (SHA256:…), if any.</summary>
    public string? HostKey { get; init; }
    /// <summary>With the host's secrets, the installed sshd must answer with the pinned key.</summary>
    public bool HadSecrets { get; init; }
    public string? HealthCheck { get; init; }
    public string? SshConfigFile { get; init; }
    public string? SshIdentityFile { get; init; }
    public required int TimeoutSeconds { get; init; }
    /// <summary>The guest's address, for the message when sshd does not answer.</summary>
    public required string GuestAddress { get; init; }
    public required string InstallLog { get; init; }
    public required string BootLog { get; init; }

    /// <summary>What phase 2 found, each time from the VM's start.</summary>
    public sealed record Report(TimeSpan Login, TimeSpan Ssh, TimeSpan Healthy, string Key, string Health);

    public Report Run(QemuConsoleRun booted, int sshPort, CancellationToken cancellationToken)
    {
        var started = Stopwatch.StartNew();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(TimeoutSeconds);
        while (booted.LoginAt is null && booted.FirmwareGaveUp is null && !booted.HasExited && DateTime.UtcNow < deadline)
        {
            cancellationToken.ThrowIfCancellationRequested();
            Thread.Sleep(250);
        }
        if (booted.LoginAt is null && booted.FirmwareGaveUp is { } gaveUp)
            throw new AnemosException(Diagnostics.RehearseNotBootable, HostName, RehearsalTime.Format(started.Elapsed), gaveUp, BootLog);
        if (booted.LoginAt is not { } login)
            throw new AnemosException(Diagnostics.RehearseNoLogin, HostName, TimeoutSeconds, BootLog, booted.LastLine);

        // ssh-keyscan makes one connection per key type, and under emulation one may time out
        // while sshd starts: scan until the pinned key (or, without one, the ed25519 key ssh will
        // choose) has answered, or three scans that reached sshd did not show it.
        string? wanted = string.IsNullOrWhiteSpace(HostKey) ? null : HostKey.Trim();
        var scannedKeys = new List<(string Type, string Fingerprint)>();
        int answered = 0;
        while (!booted.HasExited && DateTime.UtcNow < deadline)
        {
            var scanned = KeyScan(sshPort);
            foreach (var key in scanned) if (!scannedKeys.Contains(key)) scannedKeys.Add(key);
            if (wanted is null ? scannedKeys.Any(k => k.Type == PreferredKeyType) : scannedKeys.Any(k => k.Fingerprint == wanted)) break;
            if (scanned.Count > 0 && ++answered == 3) break;
            Thread.Sleep(1000);
        }
        var ssh = started.Elapsed;
        if (scannedKeys.Count == 0)
            throw new AnemosException(Diagnostics.RehearseNoSsh, HostName, TimeoutSeconds, GuestAddress, BootLog, booted.LastLine);
        var keys = InSshPreference(scannedKeys);

        string pin, keyReport;
        if (wanted is not null && keys.Contains(wanted))
            (pin, keyReport) = (wanted, $"with {HostName}'s own host key {wanted}");
        else if (wanted is not null && HadSecrets)
            throw new AnemosException(Diagnostics.RehearseHostKeyMismatch, HostName, string.Join(", ", keys), wanted);
        else
            (pin, keyReport) = (keys[0], $"with host key {keys[0]}{(HadSecrets ? "" : " (the rehearsal had no secrets)")}");

        string healthReport = "";
        if (!string.IsNullOrWhiteSpace(HealthCheck))
        {
            if (RunHealthCheck(sshPort, pin, deadline, booted, cancellationToken) is { } failure)
                throw new AnemosException(Diagnostics.RehearseUnhealthy, HostName, HealthCheck.Trim(), TimeoutSeconds, failure.ExitCode, SshSession.LastLine(failure.Errors + "\n" + failure.Output), BootLog);
            healthReport = $"health check passed after {RehearsalTime.Format(started.Elapsed)}";
        }
        return new Report(login, ssh, started.Elapsed, keyReport, healthReport);
    }

    /// <summary>
    /// The health check over ssh as root, the host key pinned, until it passes (a system still
    /// starting its services becomes healthy) or the boot deadline; null when it passed, else the
    /// last result. A login that fails is the ssh session's own coded error.
    /// </summary>
    RemoteResult? RunHealthCheck(int port, string pin, DateTime deadline, QemuConsoleRun booted, CancellationToken cancellationToken)
    {
        var target = new SshTarget("127.0.0.1", "root", port)
        {
            HostKey = pin,
            ConfigFile = string.IsNullOrWhiteSpace(SshConfigFile) ? null : SshConfigFile,
            IdentityFile = string.IsNullOrWhiteSpace(SshIdentityFile) ? null : SshIdentityFile,
        };
        using var session = SshSession.Open(target, cancellationToken);
        while (true)
        {
            var result = session.Run(HealthCheck!, TimeSpan.FromMinutes(2), cancellationToken);
            if (result.ExitCode == 0) return null;
            if (booted.HasExited || DateTime.UtcNow > deadline) return result;
            Thread.Sleep(2000);
        }
    }

    const string PreferredKeyType = "ssh-ed25519";

    /// <summary>
    /// The fingerprints in OpenSSH's default order of host key types (ssh_config(5),
    /// HostKeyAlgorithms: ed25519, ecdsa, rsa), whatever order the scans answered in: without the
    /// host's own key the first is the one to pin, as it is the one a session negotiates.
    /// </summary>
    internal static List<string> InSshPreference(IEnumerable<(string Type, string Fingerprint)> keys) =>
        keys.OrderBy(k => k.Type switch
        {
            PreferredKeyType => 0,
            _ when k.Type.StartsWith("ecdsa-sha2-", StringComparison.Ordinal) => 1,
            "ssh-rsa" => 2,
            _ => 3,
        }).Select(k => k.Fingerprint).ToList();

    /// <summary>The host keys sshd answers with on 127.0.0.1:PORT: their types and fingerprints.</summary>
    List<(string Type, string Fingerprint)> KeyScan(int port)
    {
        var start = new ProcessStartInfo("ssh-keyscan") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string argument in new[] { "-T", "15", "-p", port.ToString(CultureInfo.InvariantCulture), "127.0.0.1" }) start.ArgumentList.Add(argument);
        string output;
        try
        {
            using var process = Process.Start(start)!;
            _ = process.StandardError.ReadToEndAsync();
            output = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
        }
        catch (Win32Exception)
        {
            throw new AnemosException(Diagnostics.RehearseNoSsh, HostName, 0, "ssh-keyscan is not installed (apt-get install openssh-client)", InstallLog, "");
        }
        return HostKeyFingerprint.FromKeyscan(output).Select(key => (key.Type, key.Fingerprint)).ToList();
    }
}
