using Anemos.Tasks.Rehearse;
using Anemos.Tests.Infrastructure;

namespace Anemos.Tests.Vm;

/// <summary>Boots a kernel in QEMU under TCG (KVM cannot run normal kernels on these machines), always with a time limit.</summary>
public static class Qemu
{
    public static string Boot(string kernel, string initramfs, string disk, string commandLine = "console=ttyS0 panic=-1", int memoryMiB = 512, int timeoutSeconds = 480)
    {
        Tier.RequireEndToEnd(Needs.Qemu);
        var command = new QemuCommand
        {
            MemoryMiB = memoryMiB,
            NoReboot = true,
            Kernel = new(kernel, initramfs, commandLine),
            Disks = [new QemuDisk(disk)],
        };
        var result = ProcessRunner.Run("qemu-system-x86_64", command.Arguments(), timeout: TimeSpan.FromSeconds(timeoutSeconds));
        return QemuConsoleRun.EscapeSequence().Replace(result.Output, "");
    }
}
