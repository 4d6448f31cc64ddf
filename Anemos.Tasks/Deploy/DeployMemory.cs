using System.Globalization;
using System.Text.Json;
using Anemos.Core.Initramfs;

namespace Anemos.Tasks.Deploy;

/// <summary>
/// The memory the deploy environment needs, as a running kernel counts it (MemTotal), computed from
/// the artifacts (docs/deploy.md, "Memory"): the one rule both the deploy's preflight (against the
/// host's MemTotal, ANEMOS4043) and a rehearsal (against its VM's memory, ANEMOS3131) apply.
/// <list type="bullet">
/// <item>While the kernel unpacks the initramfs, the compressed initramfs and the unpacked tree are in
/// memory together, and the kernel, the init, its ssh server and the payload need room to work. The
/// rootfs is ramfs (<see cref="DeployInitContract.CommandLine.RootfsOnRamfs"/>), not a tmpfs that may
/// fill only half of the memory the kernel counts at that moment.</item>
/// <item>While a base that bootstraps installs (base-image.json lists bootstrappers, or there is no
/// base-image.json to say it does not), the tree stays in RAM beside mmdebstrap, apt, dpkg and the
/// decompressors of the packages; less when the base has zram, the compressed swap in RAM the init
/// sets up.</item>
/// </list>
/// </summary>
public sealed record DeployMemory(long RequiredBytes, string Why)
{
    public const long MiB = 1024L * 1024;
    /// <summary>The kernel's own allocations, the init, the ssh server and a `deploy` payload (a busybox base runs in 96 MiB of RAM, 48 MiB MemTotal; 80 MiB fails).</summary>
    public const long WorkingBytes = 32 * MiB;
    /// <summary>
    /// What an install's tools take beside the tree without swap: samples/dns x installed with 206 MiB
    /// of MemTotal beside its installer's 125 MiB (384 MiB of RAM); with 146 MiB beside 92 MiB (290 MiB
    /// of RAM) the kernel's OOM killer stopped xz unpacking linux-image.
    /// </summary>
    public const long InstallBytes = 206 * MiB;
    /// <summary>
    /// The same with compressed swap in RAM (zram among the base's modules: the deploy init sets it
    /// up): samples/dns x installed with 114 MiB of MemTotal beside its installer's 92 MiB (256 MiB of
    /// RAM, MemTotal about 206 MiB); without zram it made no progress from dpkg's 145th unpack on.
    /// </summary>
    public const long InstallWithCompressedSwapBytes = 112 * MiB;
    /// <summary>The kernel module the deploy init sets compressed swap in RAM up with (anemos-init's compressed_swap).</summary>
    public const string CompressedSwapModule = "zram";
    /// <summary>A base without base-image.json (a path or URL): its unpacked size estimated as this many times its compressed size (measured: installer 3.0 with zstd, busybox 3.1 with gzip).</summary>
    public const int EstimatedUnpackRatio = 3;
    /// <summary>
    /// What Debian 12's kernel keeps of a machine's RAM for itself (its image and reservations), so a
    /// rehearsal VM's MemTotal is about its RAM, less a 64th (the page tables), less this: measured
    /// 96 MiB → 48.0 MiB and 384 MiB → 331.4 MiB.
    /// </summary>
    public const long KernelShareBytes = 46 * MiB;

    /// <summary>The property that replaces the computed figure, in MiB.</summary>
    public const string OverrideProperty = "AnemosMinimumMemory";

    /// <param name="initramfsBytes">The initramfs the kernel receives (base, overlay; host segments are small).</param>
    /// <param name="baseBytes">The base initramfs, compressed.</param>
    /// <param name="baseDescriptionFile">The base's base-image.json (its `unpackedSize`), when the build knows it.</param>
    /// <param name="minimumMiB">AnemosMinimumMemory: empty for the computed figure.</param>
    public static DeployMemory Resolve(long initramfsBytes, long baseBytes, string? baseDescriptionFile, string? minimumMiB)
    {
        if (!string.IsNullOrWhiteSpace(minimumMiB))
        {
            if (!long.TryParse(minimumMiB.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out long mib) || mib is <= 0 or > 1L << 30)
                throw new AnemosException(Diagnostics.MinimumMemoryInvalid, minimumMiB);
            return new DeployMemory(mib * MiB, $"{OverrideProperty}={mib}");
        }
        long overlay = Math.Max(0, initramfsBytes - baseBytes);
        var (described, bootstraps, compressedSwap) = Describe(baseDescriptionFile);
        long unpacked = (described ?? EstimatedUnpackRatio * baseBytes) + overlay;
        long whileUnpacking = initramfsBytes + unpacked + WorkingBytes;
        long installTools = compressedSwap ? InstallWithCompressedSwapBytes : InstallBytes;
        // Without base-image.json nothing says the base only runs a `deploy`: it is counted as one that installs.
        long whileInstalling = bootstraps ?? true ? unpacked + installTools : 0;
        long largest = Math.Max(whileUnpacking, whileInstalling);
        long required = (largest + MiB - 1) / MiB * MiB;
        string source = described is null ? $"estimated as {EstimatedUnpackRatio} × the compressed base: no base-image.json" : "base-image.json's unpackedSize and the overlay";
        string why = largest == whileInstalling
            ? $"the {ByteSize.Format(unpacked)} unpacked ({source}), which stays in RAM while the base installs, and {ByteSize.Format(installTools)} for the install's tools beside it"
              + (compressedSwap ? " with compressed swap in RAM (zram)" : " (the base has no zram module for compressed swap in RAM)")
            : $"the initramfs {ByteSize.Format(initramfsBytes)} and its {ByteSize.Format(unpacked)} unpacked ({source}) while the kernel unpacks it, and {ByteSize.Format(WorkingBytes)} to work";
        return new DeployMemory(required, why);
    }

    /// <summary>base-image.json's `unpackedSize`, whether the base bootstraps anything (nulls without the file or the field) and whether it has zram.</summary>
    static (long? Unpacked, bool? Bootstraps, bool CompressedSwap) Describe(string? descriptionFile)
    {
        if (string.IsNullOrWhiteSpace(descriptionFile) || !File.Exists(descriptionFile)) return (null, null, false);
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(descriptionFile));
            var root = document.RootElement;
            long? unpacked = root.TryGetProperty("unpackedSize", out var size) && size.TryGetInt64(out long value) && value > 0 ? value : null;
            bool? bootstraps = root.TryGetProperty("bootstrappers", out var targets) && targets.ValueKind == JsonValueKind.Array
                ? targets.GetArrayLength() > 0 || root.TryGetProperty("bootstrappersWithoutKeyring", out var keyless) && keyless.ValueKind == JsonValueKind.Array && keyless.GetArrayLength() > 0
                : null;
            bool compressedSwap = root.TryGetProperty("modules", out var modules) && modules.ValueKind == JsonValueKind.Array
                && modules.EnumerateArray().Any(m => m.ValueKind == JsonValueKind.String && m.GetString() == CompressedSwapModule);
            return (unpacked, bootstraps, compressedSwap);
        }
        catch (JsonException)
        {
            return (null, null, false);
        }
    }

    public string Required => ByteSize.Format(RequiredBytes);

    /// <summary>ANEMOS4043 before anything is uploaded, when the host's MemTotal is below the figure. A helper that reported no MemTotal (0) is not refused.</summary>
    public void Check(long memTotalBytes, string hostDisplay)
    {
        if (memTotalBytes > 0 && memTotalBytes < RequiredBytes)
            throw new AnemosException(Diagnostics.HostMemoryTooSmall, hostDisplay, ByteSize.Format(memTotalBytes), Required, Why);
    }

    /// <summary>About what a VM's kernel counts as MemTotal with this much RAM (<see cref="KernelShareBytes"/>).</summary>
    public static long VmMemTotal(long ramBytes) => ramBytes - ramBytes / 64 - KernelShareBytes;

    /// <summary>The least RAM, in whole MiB, whose <see cref="VmMemTotal"/> holds the figure.</summary>
    public long VmRamMiB()
    {
        long mib = (RequiredBytes + KernelShareBytes) * 64 / 63 / MiB;
        while (VmMemTotal(mib * MiB) < RequiredBytes) mib++;
        return mib;
    }

    /// <summary>ANEMOS3131 before QEMU starts, when AnemosRehearseMemory cannot hold the figure.</summary>
    public void CheckRehearsal(int memoryMiB, string hostName)
    {
        long memTotal = VmMemTotal(memoryMiB * MiB);
        if (memTotal < RequiredBytes)
            throw new AnemosException(Diagnostics.RehearseMemoryTooSmall, hostName, memoryMiB, ByteSize.Format(Math.Max(0, memTotal)), Required, Why, VmRamMiB());
    }
}
