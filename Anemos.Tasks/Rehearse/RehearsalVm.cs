using Anemos.Core.Initramfs;
using TaskLoggingHelper = Microsoft.Build.Utilities.TaskLoggingHelper;

namespace Anemos.Tasks.Rehearse;

/// <summary>
/// The rehearsal's one machine, shared by both phases: its emulator, accelerator, memory and
/// firmware (one variable store from the install to the boot, as a server keeps its NVRAM).
/// Phase 1 boots the host's kernel and initramfs with every disk until the deploy init powers
/// off; phase 2 boots the install disk alone through the firmware, as the server reboots into it.
/// </summary>
public sealed partial class RehearsalVm
{
    public required string HostName { get; init; }
    /// <summary>The emulator's path (<see cref="QemuHost.Find"/>).</summary>
    public required string Qemu { get; init; }
    /// <summary>kvm or tcg (<see cref="QemuHost.Accelerator"/>).</summary>
    public required string Accelerator { get; init; }
    public required int MemoryMiB { get; init; }
    public required QemuFirmware Firmware { get; init; }
    public required string KernelFile { get; init; }
    /// <summary>The host's own kernel arguments, after the ones the rehearsal needs.</summary>
    public string? CommandLine { get; init; }

    /// <summary>What phase 1 saw: the install disk the init named (0 for vda, -1 for none), the console's last line, the result line.</summary>
    public sealed record Installed(int InstallDisk, string LastLine, string? Result);

    [System.Text.RegularExpressions.GeneratedRegex(@"ANEMOS-RESULT (ok|fail)\b.*?step=(\S+)")]
    private static partial System.Text.RegularExpressions.Regex ResultLine();

    /// <summary>AnemosRehearseBootInstalled: true, false, or auto (only an IMGBUILD install is booted from its disk); else ANEMOS3116.</summary>
    public static bool BootsInstallDisk(string value, string? payloadKind) => value.Trim().ToLowerInvariant() switch
    {
        "" or "auto" => payloadKind == "imgbuild",
        "true" => true,
        "false" => false,
        _ => throw new AnemosException(Diagnostics.RehearseBootInvalid, value),
    };

    /// <summary>
    /// The kernel and the initramfs with every disk: the deploy init powers off either way, so the
    /// run ends by itself. The user network reaches nothing but the mirror, if any.
    /// </summary>
    public QemuCommand InstallCommand(IReadOnlyList<string> disks, string initramfs, QemuGuestForward? mirror) => new()
    {
        Accelerator = Accelerator,
        MemoryMiB = MemoryMiB,
        Firmware = Firmware,
        NoReboot = true,
        Kernel = new(KernelFile, initramfs,
            DeployInitContract.CommandLine.Compose($"console=ttyS0 panic=-1 {DeployInitContract.CommandLine.OnSuccess}=poweroff {DeployInitContract.CommandLine.OnFailure}=poweroff", CommandLine)),
        Network = new() { GuestForwards = mirror is null ? [] : [mirror] },
        Disks = RehearsalDisks.ForInstall(disks),
    };

    /// <summary>The install disk alone, booted by the firmware; the network in the host's shape, sshd on 127.0.0.1:<paramref name="port"/>.</summary>
    public QemuCommand BootCommand(string disk, RehearsalNetwork? network, int port) => new()
    {
        Accelerator = Accelerator,
        MemoryMiB = MemoryMiB,
        Firmware = Firmware,
        NoReboot = true,
        Network = network?.WithSsh(port) ?? new() { HostForwards = [new(port, 22)] },
        Disks = [RehearsalDisks.ForBoot(disk)],
    };

    /// <summary>Phase 1: runs <paramref name="command"/> until the deploy init's result; a failure, a timeout or no result line is a coded error.</summary>
    public Installed Install(QemuCommand command, string consoleLog, int timeoutSeconds, TaskLoggingHelper log, CancellationToken cancellation)
    {
        using var install = new QemuConsoleRun(Qemu, command.Arguments(), consoleLog, log, HostName);
        bool exited = install.WaitForExit(TimeSpan.FromSeconds(timeoutSeconds), cancellation);
        return install.Watch(() =>
        {
            var match = install.Result is null ? null : ResultLine().Match(install.Result);
            if (match is { Success: true } && match.Groups[1].Value == "ok")
                return new Installed(install.InstallDiskIndex, install.LastLine, install.Result);
            if (match is { Success: true })
                throw new AnemosException(Diagnostics.RehearsalFailed, HostName, match.Groups[2].Value, consoleLog);
            if (!exited)
                throw new AnemosException(Diagnostics.RehearsalTimedOut, HostName, timeoutSeconds, consoleLog, install.LastLine);
            throw new AnemosException(Diagnostics.RehearsalNoResult, HostName, consoleLog, install.QemuErrors.Length > 0 ? LastLineOf(install.QemuErrors) : install.LastLine);
        });
    }

    /// <summary>Phase 2: the install disk booted by the firmware, sshd forwarded to a free port on 127.0.0.1, then <paramref name="check"/>'s report.</summary>
    public InstalledSystemCheck.Report Boot(string disk, RehearsalNetwork? network, InstalledSystemCheck check, TaskLoggingHelper log, CancellationToken cancellation)
    {
        int port = FreeLoopbackPort();
        using var booted = new QemuConsoleRun(Qemu, BootCommand(disk, network, port).Arguments(), check.BootLog, log, HostName);
        var report = booted.Watch(() => check.Run(booted, port, cancellation));
        booted.Stop();
        if (booted.FailedUnits.Count > 0)
            log.LogMessage(Microsoft.Build.Framework.MessageImportance.High, $"  rehearse {HostName}: systemd reported {booted.FailedUnits.Count} failure(s) on the console: {string.Join("; ", booted.FailedUnits.Take(5))}");
        return report;
    }

    static int FreeLoopbackPort()
    {
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        int port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    /// <summary>The last line of some text: an error message stays on one line (MSBuild repeats the code on every line).</summary>
    static string LastLineOf(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault() ?? "(nothing)";
}
