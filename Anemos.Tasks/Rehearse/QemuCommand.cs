using System.Globalization;

namespace Anemos.Tasks.Rehearse;

/// <summary>
/// One QEMU command line, for the rehearsal and the tests' VMs alike: the machine, its firmware, a
/// kernel to boot or else the first disk (-boot c), one user network, then the disks. Devices come
/// in that fixed order because the PCI slot order is the order the guest names them in.
/// </summary>
public sealed record QemuCommand
{
    /// <summary>kvm or tcg.</summary>
    public string Accelerator { get; init; } = "tcg";
    public int MemoryMiB { get; init; } = 512;
    /// <summary>-machine TYPE; null for QEMU's default (pc).</summary>
    public string? Machine { get; init; }
    public QemuFirmware Firmware { get; init; } = QemuFirmware.Bios;
    /// <summary>The file the serial console goes to; null: QEMU's stdout (-nographic), to be read as it comes.</summary>
    public string? ConsoleFile { get; init; }
    /// <summary>Power off when the guest reboots (a rehearsal's phases end so); else QEMU restarts it, as a server does.</summary>
    public bool NoReboot { get; init; }
    /// <summary>The kernel to boot directly; null: the firmware boots the first disk.</summary>
    public QemuKernel? Kernel { get; init; }
    public QemuNetwork Network { get; init; } = new();
    public IReadOnlyList<QemuDisk> Disks { get; init; } = [];

    public IReadOnlyList<string> Arguments()
    {
        var arguments = new List<string> { "-accel", Accelerator, "-m", MemoryMiB.ToString(CultureInfo.InvariantCulture) };
        if (Machine is not null) arguments.AddRange(["-machine", Machine]);
        arguments.AddRange(ConsoleFile is null ? ["-nographic"] : ["-display", "none"]);
        if (NoReboot) arguments.Add("-no-reboot");
        arguments.Add("-nodefaults");
        arguments.AddRange(["-serial", ConsoleFile is null ? "stdio" : "file:" + ConsoleFile, "-monitor", "none"]);
        arguments.AddRange(Firmware.Arguments());
        arguments.AddRange(Kernel is { } kernel ? ["-kernel", kernel.File, "-initrd", kernel.Initrd, "-append", kernel.CommandLine] : ["-boot", "c"]);
        arguments.AddRange(Network.Arguments());
        for (int i = 0; i < Disks.Count; i++) arguments.AddRange(Disks[i].Arguments(i));
        return arguments;
    }
}

/// <summary>A kernel, its initramfs and its command line, booted by QEMU itself (no boot loader).</summary>
public sealed record QemuKernel(string File, string Initrd, string CommandLine);
