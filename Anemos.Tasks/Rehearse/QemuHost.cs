namespace Anemos.Tasks.Rehearse;

/// <summary>What this machine offers QEMU: the emulator's path, and whether KVM can run the guest.</summary>
public static class QemuHost
{
    /// <summary>The emulator as a path, or as a name searched on PATH; null when it is not there.</summary>
    public static string? Find(string qemu)
    {
        if (qemu.Contains('/')) return File.Exists(qemu) ? qemu : null;
        foreach (string directory in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator))
        {
            string candidate = Path.Combine(directory, qemu);
            if (directory.Length > 0 && File.Exists(candidate)) return candidate;
        }
        return null;
    }

    /// <summary>kvm or tcg as asked; for auto, kvm where a hardware KVM module is loaded, else tcg.</summary>
    public static string Accelerator(string requested)
    {
        if (requested is "kvm" or "tcg") return requested;
        // /dev/kvm alone is not enough: some machines expose a paravirtual KVM that cannot run a normal kernel.
        bool hardware = Directory.Exists("/sys/module/kvm_intel") || Directory.Exists("/sys/module/kvm_amd");
        return hardware && File.Exists("/dev/kvm") ? "kvm" : "tcg";
    }
}
