using System.Diagnostics;
using Anemos.Core.Hashing;
using Anemos.Core.Protocol;

namespace Anemos.Kexec;

/// <summary>
/// `boot`: preflight (root, kexec allowed, memory), kexec_file_load of the staged kernel and
/// initramfs, then the handover: `systemctl kexec` under systemd, otherwise sync and
/// reboot(LINUX_REBOOT_CMD_KEXEC). A failed load is reported with the errno in words and the
/// kernel's last log lines, and unloaded; so is a failed handover: no deploy kernel stays loaded.
/// </summary>
public sealed class Booter(string stateDirectory, SystemFiles files, Action<string> report)
{
    /// <summary>Room left for the deploy kernel's own page tables, slab and the unpacked payload.</summary>
    public const long SafetyMarginBytes = 64L * 1024 * 1024;

    /// <summary>`boot --dry-run`: what is staged, its files proven again, and every check `boot` makes.</summary>
    public StagedState Preflight(bool checkPrivileges = true)
    {
        var state = ReadStaged();
        using (var staged = StagedFiles.Open(state)) Prove(staged);
        Check(state, checkPrivileges);
        return state;
    }

    /// <summary>
    /// Proves the staged files; when they differ from what stage proved, every cache proof is
    /// dropped too, so the next stage hashes each cache entry again instead of trusting it.
    /// </summary>
    void Prove(StagedFiles staged)
    {
        try { staged.Prove(); }
        catch (HelperException)
        {
            CacheProof.ForgetAll(stateDirectory);
            throw;
        }
    }

    /// <summary>The staged state (state.json); ANEMOS5008 when nothing is staged.</summary>
    public StagedState ReadStaged()
    {
        string statePath = Path.Combine(stateDirectory, HelperStateLayout.StagedState);
        if (!File.Exists(statePath))
            throw new HelperException(HelperCodes.NothingStaged, $"Nothing is staged in {stateDirectory}. Run anemos-kexec stage --manifest FILE first.");
        return System.Text.Json.JsonSerializer.Deserialize(File.ReadAllText(statePath), HelperJsonContext.Default.StagedState)
            ?? throw new HelperException(HelperCodes.NothingStaged, "The staged state is empty; stage again.");
    }

    /// <summary>
    /// The checks on the host, apart from the staged bytes (`stage --preflight` has just proven
    /// them): root, kexec allowed, memory, and a signed kernel under lockdown.
    /// </summary>
    public void Check(StagedState state, bool checkPrivileges = true)
    {
        if (checkPrivileges && !Native.IsRoot())
            throw new HelperException(HelperCodes.NotRoot, "anemos-kexec boot must run as root (kexec_file_load needs CAP_SYS_BOOT). Run it with sudo.");
        if (files.Read("/proc/sys/kernel/kexec_load_disabled")?.Trim() == "1")
            throw new HelperException(HelperCodes.KexecDisabled, "kexec is disabled on this host (/proc/sys/kernel/kexec_load_disabled is 1, which only a reboot clears). Reboot normally, then deploy before anything sets it again.");

        long available = FactsReader.ParseMemInfo(files.Read("/proc/meminfo") ?? "").GetValueOrDefault("MemAvailable");
        long kernelInit = KernelImage.InitSize(state.KernelPath) ?? new FileInfo(state.KernelPath).Length * 4;
        long needed = state.InitramfsSize + kernelInit + SafetyMarginBytes;
        if (available > 0 && needed > available)
            throw new HelperException(HelperCodes.NotEnoughMemory,
                $"Loading needs {Mib(needed)} MiB (initramfs {Mib(state.InitramfsSize)}, kernel init size {Mib(kernelInit)}, margin {Mib(SafetyMarginBytes)}) but only {Mib(available)} MiB are available: {Mib(needed - available)} MiB are missing. Stop services to free memory, or make the payload smaller.");
        string? lockdown = FactsReader.ParseLockdown(files.Read("/sys/kernel/security/lockdown"));
        if (lockdown is not null && lockdown != "none")
        {
            if (!KernelImage.IsSigned(state.KernelPath))
                throw new HelperException(HelperCodes.KernelUnsigned,
                    $"Kernel lockdown is '{lockdown}' (Secure Boot), and the staged kernel carries no signature, so kexec_file_load would refuse it. Deploy a signed kernel (Debian's and Ubuntu's are), or turn Secure Boot off.");
            report($"kernel lockdown is '{lockdown}': the staged kernel is signed; the running kernel decides whether it trusts the key");
        }
    }

    public void Boot(bool dryRun)
    {
        if (dryRun)
        {
            var checkedState = Preflight();
            report($"dry run: would load {checkedState.KernelPath} with {checkedState.InitramfsPath} ({checkedState.InitramfsSize} bytes), command line '{checkedState.CommandLine}'");
            return;
        }
        StagedState? state = null;
        try
        {
            state = ReadStaged();
            // The files are opened once: the bytes proven are read through the very descriptors
            // kexec_file_load is given, so nothing can change between the proof and the load.
            using var staged = StagedFiles.Open(state);
            Prove(staged);
            Check(state);
            Load(state, staged);
        }
        finally
        {
            // Loaded (the kernel holds its own copy) or refused: an initramfs with secrets goes now.
            Forget(state);
        }
        HandOver(state!);
    }

    /// <summary>Deletes the staged initramfs when it carries secrets or host keys (it lives in the secrets folder), and the state that names it.</summary>
    public void Forget(StagedState? state = null)
    {
        string statePath = Path.Combine(stateDirectory, HelperStateLayout.StagedState);
        if (state is null)
        {
            if (!File.Exists(statePath)) return;
            try { state = System.Text.Json.JsonSerializer.Deserialize(File.ReadAllText(statePath), HelperJsonContext.Default.StagedState); }
            catch (System.Text.Json.JsonException) { return; }
            if (state is null) return;
        }
        if (!state.Segments.Contains("secrets") && !state.Segments.Contains("host-keys")) return;
        Anemos.Core.AtomicFile.TryDelete(statePath);
        Anemos.Core.AtomicFile.TryDelete(state.InitramfsPath);
        report(state.Segments.Contains("secrets") ? "the initramfs with the deploy's secrets was deleted" : "the initramfs with the host keys was deleted");
    }

    void Load(StagedState state, StagedFiles staged)
    {
        int errno = staged.Load(state.CommandLine);
        if (errno != 0)
        {
            string kernelLog = KernelLogTail();
            Native.KexecUnload();
            throw new HelperException(HelperCodes.LoadFailed,
                $"kexec_file_load refused the staged kernel: {Native.Describe(errno)}. {Advice(errno)} Kernel log: {kernelLog}");
        }
        report($"loaded {state.Host}'s deploy kernel; handing over");
    }

    /// <summary>`systemctl kexec` or reboot(KEXEC); when neither takes over, the deploy kernel is unloaded, so no later reboot starts an installer.</summary>
    void HandOver(StagedState state)
    {
        string failure;
        try
        {
            if (files.Exists("/run/systemd/system"))
            {
                using var systemctl = Process.Start(new ProcessStartInfo("systemctl", "kexec") { UseShellExecute = false });
                systemctl?.WaitForExit();
                if (systemctl is not null && systemctl.ExitCode == 0) return;
                failure = $"systemctl kexec failed{(systemctl is null ? "" : $" (exit {systemctl.ExitCode})")}; see journalctl";
            }
            else
            {
                Native.Sync();
                failure = $"reboot into the loaded kernel failed: {Native.Describe(Native.RebootIntoLoadedKernel())}";
            }
        }
        catch (Exception e) when (e is not HelperException)
        {
            failure = $"the handover failed: {e.Message}";
        }
        int errno = Native.KexecUnload();
        throw new HelperException(HelperCodes.HandoverFailed, errno == 0
            ? $"{failure}. {state.Host}'s deploy kernel was unloaded: the host runs on as before. Fix the cause, then deploy again."
            : $"{failure}, and unloading it failed too ({Native.Describe(errno)}): a reboot would start the deploy kernel. Run anemos-kexec unload, or power-cycle the host.");
    }

    static string Advice(int errno) => errno switch
    {
        1 => "The kernel forbids it (lockdown or a signature it does not trust, or no CAP_SYS_BOOT).",
        22 => "The image or command line is not acceptable (EINVAL: is it a bzImage, and is there room: segments over half of RAM are refused?).",
        38 => "This kernel has no kexec_file_load (CONFIG_KEXEC_FILE).",
        61 => "The kernel image has no signature this kernel requires (KEXEC_SIG_FORCE).",
        _ => "",
    };

    static string KernelLogTail()
    {
        try
        {
            var dmesg = Process.Start(new ProcessStartInfo("dmesg") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false });
            if (dmesg is null) return "(dmesg not available)";
            string[] lines = dmesg.StandardOutput.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
            dmesg.WaitForExit();
            return string.Join(" | ", lines.TakeLast(5));
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "(dmesg not available)";
        }
    }

    static long Mib(long bytes) => (bytes + 1048575) / 1048576;
}

/// <summary>Reads the x86 boot protocol header of a bzImage, and its PE/COFF signature table.</summary>
public static class KernelImage
{
    /// <summary>True when the image is PE/COFF (an EFI-stub bzImage) with a certificate table: an Authenticode signature.</summary>
    public static bool IsSigned(string path)
    {
        byte[] head = new byte[4096];
        int read;
        using (var stream = File.OpenRead(path)) read = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        if (read < 0x40 || head[0] != 'M' || head[1] != 'Z') return false;
        int pe = BitConverter.ToInt32(head, 0x3c);
        if (pe < 0 || pe + 24 + 160 > read || head[pe] != 'P' || head[pe + 1] != 'E' || head[pe + 2] != 0 || head[pe + 3] != 0) return false;
        int optional = pe + 24;
        bool pe32Plus = BitConverter.ToUInt16(head, optional) == 0x20b;
        int directoryCount = BitConverter.ToInt32(head, optional + (pe32Plus ? 108 : 92));
        int certificateEntry = optional + (pe32Plus ? 112 : 96) + 4 * 8; // data directory 4: the certificate table
        return directoryCount > 4 && certificateEntry + 8 <= read && BitConverter.ToUInt32(head, certificateEntry + 4) > 0;
    }

    /// <summary>The memory the kernel needs to decompress and start (setup header init_size), or null when it is no bzImage.</summary>
    public static long? InitSize(string path)
    {
        byte[] header = new byte[0x270];
        using (var stream = File.OpenRead(path))
            if (stream.ReadAtLeast(header, header.Length, throwOnEndOfStream: false) < header.Length) return null;
        if (!Core.KernelMachine.IsBzImage(header)) return null;
        return BitConverter.ToUInt32(header, 0x260);
    }
}
