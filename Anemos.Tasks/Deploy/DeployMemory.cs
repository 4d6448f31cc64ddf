using System.Globalization;
using System.Text.Json;

namespace Anemos.Tasks.Deploy;

/// <summary>
/// The memory the deploy environment needs, as a running kernel counts it (MemTotal), computed from
/// the artifacts (docs/deploy.md, "Memory"): the one rule both the deploy's preflight (against the
/// host's MemTotal, ANEMOS4043) and a rehearsal (against its VM's memory, ANEMOS3131) apply.
/// <list type="bullet">
/// <item>While the kernel unpacks the initramfs, the compressed initramfs and the unpacked tree are in
/// memory together, and the kernel, the init, its ssh server and the payload need room to work.</item>
/// <item>The kernel unpacks into its rootfs, a tmpfs that may fill at most half of the memory it
/// counts at that moment, while the compressed initramfs and its own init sections still take their
/// share: the unpacked tree and what the init writes there must fit in that half.</item>
/// </list>
/// </summary>
public sealed record DeployMemory(long RequiredBytes, string Why)
{
    public const long MiB = 1024L * 1024;
    /// <summary>The kernel's own allocations, the init, the ssh server and a `deploy` payload (a busybox base runs in 96 MiB of RAM, 48 MiB MemTotal; 80 MiB fails).</summary>
    public const long WorkingBytes = 32 * MiB;
    /// <summary>What the init writes into the rootfs beside the unpacked tree (its log, /run, the payload unpacked), counted against the rootfs's half.</summary>
    public const long RootfsSlackBytes = 8 * MiB;
    /// <summary>
    /// The kernel's init sections, freed only after it has unpacked the initramfs (Debian 12's 6.1:
    /// 2.8 MiB init, 2 MiB decrypted, 3.1 MiB of gaps): at 256 MiB of RAM it counted 166.7 MiB while
    /// unpacking, of a MemTotal of about 206 MiB, less the 31 MiB initramfs and these.
    /// </summary>
    public const long KernelInitBytes = 8 * MiB;
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
        long? described = UnpackedSize(baseDescriptionFile);
        long unpacked = (described ?? EstimatedUnpackRatio * baseBytes) + overlay;
        long whileUnpacking = initramfsBytes + unpacked + WorkingBytes;
        long rootfs = 2 * (unpacked + RootfsSlackBytes) + initramfsBytes + KernelInitBytes;
        long required = (Math.Max(whileUnpacking, rootfs) + MiB - 1) / MiB * MiB;
        string source = described is null ? $"estimated as {EstimatedUnpackRatio} × the compressed base: no base-image.json" : "base-image.json's unpackedSize and the overlay";
        string why = whileUnpacking >= rootfs
            ? $"the initramfs {ByteSize.Format(initramfsBytes)} and its {ByteSize.Format(unpacked)} unpacked ({source}) while the kernel unpacks it, and {ByteSize.Format(WorkingBytes)} to work"
            : $"twice the {ByteSize.Format(unpacked)} unpacked ({source}) and {ByteSize.Format(RootfsSlackBytes)} of the init's files, and the initramfs {ByteSize.Format(initramfsBytes)} with {ByteSize.Format(KernelInitBytes)} of the kernel's init: the kernel unpacks into a tmpfs that holds at most half the memory it counts while those are still in it";
        return new DeployMemory(required, why);
    }

    /// <summary>base-image.json's `unpackedSize`; null without the file or the field.</summary>
    static long? UnpackedSize(string? descriptionFile)
    {
        if (string.IsNullOrWhiteSpace(descriptionFile) || !File.Exists(descriptionFile)) return null;
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(descriptionFile));
            return document.RootElement.TryGetProperty("unpackedSize", out var size) && size.TryGetInt64(out long value) && value > 0 ? value : null;
        }
        catch (JsonException)
        {
            return null;
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
