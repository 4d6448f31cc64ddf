using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
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

    [Output] public string? ConsoleLog { get; set; }
    [Output] public string? Result { get; set; }

    [GeneratedRegex(@"\x1b(\[[0-9;?]*[A-Za-z]|c|\([A-Z0-9])")]
    private static partial Regex EscapeSequence();

    [GeneratedRegex(@"ANEMOS-RESULT (ok|fail)\b.*?step=(\S+)")]
    private static partial Regex ResultLine();

    [GeneratedRegex(@"^([0-9]+)([KMGT]?)(i?B)?$")]
    private static partial Regex DiskSize();

    protected override void ExecuteCore()
    {
        string qemu = ResolveQemu() ?? throw new AnemosException(Diagnostics.QemuMissing, Qemu);
        Directory.CreateDirectory(WorkDirectory);
        var disks = CreateDisks();
        if (Log.HasLoggedErrors) return;

        string initramfs = WithHostSegments();

        ConsoleLog = Path.Combine(WorkDirectory, "console.log");
        string accelerator = ChooseAccelerator();
        var start = new ProcessStartInfo(qemu)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (string argument in Arguments(accelerator, disks, initramfs)) start.ArgumentList.Add(argument);
        Log.LogMessage(MessageImportance.High, $"  rehearse {HostName}: QEMU ({accelerator}, {MemoryMiB} MiB, {disks.Count} disk(s)); console follows");

        var tail = new Queue<string>();
        string? result = null;
        using var console = new StreamWriter(ConsoleLog);
        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        var errors = process.StandardError.ReadToEndAsync();
        var reading = Task.Run(() =>
        {
            string? line;
            while ((line = process.StandardOutput.ReadLine()) is not null)
            {
                string clean = EscapeSequence().Replace(line, "").TrimEnd('\r');
                console.WriteLine(clean);
                if (clean.Length == 0) continue;
                Log.LogMessage(MessageImportance.High, $"  [{HostName}] {clean}");
                lock (tail)
                {
                    tail.Enqueue(clean);
                    if (tail.Count > 15) tail.Dequeue();
                }
                if (clean.Contains("ANEMOS-RESULT ")) result = clean;
            }
        });

        bool exited = WaitForExit(process, TimeSpan.FromSeconds(TimeoutSeconds));
        if (!exited)
        {
            try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            process.WaitForExit();
        }
        reading.Wait();
        string qemuErrors = errors.Result.Trim();
        string lastLines;
        lock (tail) lastLines = string.Join(Environment.NewLine, tail);

        Result = result;
        var match = result is null ? null : ResultLine().Match(result);
        if (match is { Success: true } && match.Groups[1].Value == "ok")
        {
            Log.LogMessage(MessageImportance.High, $"  rehearse {HostName}: the deploy init reported success; disks in {WorkDirectory}");
            return;
        }
        if (match is { Success: true })
            throw new AnemosException(Diagnostics.RehearsalFailed, HostName, match.Groups[2].Value, ConsoleLog);
        if (!exited)
            throw new AnemosException(Diagnostics.RehearsalTimedOut, HostName, TimeoutSeconds, ConsoleLog, OneLine(lastLines));
        throw new AnemosException(Diagnostics.RehearsalNoResult, HostName, ConsoleLog, OneLine(qemuErrors.Length > 0 ? qemuErrors : lastLines));
    }

    /// <summary>The last line of some text: an error message stays on one line (MSBuild repeats the code on every line).</summary>
    static string OneLine(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault() ?? "(nothing)";

    bool WaitForExit(Process process, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!process.WaitForExit(500))
        {
            if (CancellationToken.IsCancellationRequested)
            {
                try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
                CancellationToken.ThrowIfCancellationRequested();
            }
            if (DateTime.UtcNow > deadline) return false;
        }
        return true;
    }

    IEnumerable<string> Arguments(string accelerator, List<string> disks, string initramfs)
    {
        string commandLine = $"console=ttyS0 panic=-1 anemos.on_success=poweroff anemos.on_failure=poweroff {CommandLine}".Trim();
        string[] fixedArguments =
        [
            "-accel", accelerator, "-m", MemoryMiB.ToString(CultureInfo.InvariantCulture),
            "-nographic", "-no-reboot", "-nodefaults", "-serial", "stdio", "-monitor", "none",
            "-kernel", KernelFile, "-initrd", initramfs, "-append", commandLine,
            // User networking restricted to the VM: DHCP from QEMU, nothing beyond it.
            "-netdev", "user,id=net0,restrict=on", "-device", "virtio-net-pci,netdev=net0",
        ];
        foreach (string argument in fixedArguments) yield return argument;
        // Each disk has a serial, as a server's disks do: anemos-disk0, anemos-disk1, … in order
        // (/dev/disk/by-id/virtio-anemos-diskN where udev runs).
        for (int i = 0; i < disks.Count; i++)
        {
            yield return "-drive";
            yield return $"file={disks[i]},format=raw,if=none,id=disk{i}";
            yield return "-device";
            yield return $"virtio-blk-pci,drive=disk{i},serial={SerialOf(i)}";
        }
    }

    public static string SerialOf(int index) => "anemos-disk" + index.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// The host's initramfs untouched, then the segments the helper appends on the host: the network
    /// snapshot (/anemos/network.conf) and the boot disk (/anemos/boot-disk).
    /// </summary>
    string WithHostSegments()
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
        if (segments.Count == 0) return InitramfsFile;
        string initramfs = Path.Combine(WorkDirectory, "initramfs.img");
        Anemos.Core.Initramfs.InitramfsLayout.AssembleFile(InitramfsFile, segments, initramfs, CancellationToken);
        return initramfs;
    }

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
}
