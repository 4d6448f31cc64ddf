using System.Text.RegularExpressions;
using Anemos.Tests.Infrastructure;

namespace Anemos.Tests.Vm;

/// <summary>Boots a kernel in QEMU under TCG (KVM cannot run normal kernels on these machines), always with a time limit.</summary>
public static class Qemu
{
    public static string Boot(string kernel, string initramfs, string disk, string commandLine = "console=ttyS0 panic=-1", int memoryMiB = 512, int timeoutSeconds = 480)
    {
        string[] arguments =
        [
            "-accel", "tcg", "-m", memoryMiB.ToString(), "-nographic", "-no-reboot", "-nodefaults", "-serial", "stdio", "-monitor", "none",
            "-kernel", kernel, "-initrd", initramfs, "-append", commandLine,
            "-drive", $"file={disk},format=raw,if=virtio",
            "-netdev", "user,id=net0,restrict=on", "-device", "virtio-net-pci,netdev=net0",
        ];
        var result = ProcessRunner.Run("qemu-system-x86_64", arguments, timeout: TimeSpan.FromSeconds(timeoutSeconds));
        return Regex.Replace(result.Output, @"\x1b(\[[0-9;?]*[A-Za-z]|c)", "");
    }
}
