using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Anemos.Tasks.Rehearse;
using Anemos.Tests.Infrastructure;

namespace Anemos.Tests.Vm;

/// <summary>
/// A "stock host" VM (QEMU, TCG) booting Debian's kernel with <see cref="StockHostImage"/>,
/// reachable only through a loopback port forward to its sshd. When QEMU resets (the deploy init
/// reboots), the same image boots again and plays the new system.
/// </summary>
public sealed class StockHostVm : IDisposable
{
    public const string DiskRecordPrefix = "ANEMOS-DEPLOYED";
    public int Port { get; }
    public string Disk { get; }
    public string ConsoleLog { get; }
    readonly Process _qemu;

    /// <summary>The address an HTTPS server on 127.0.0.1 has inside the guest, through a guestfwd.</summary>
    public const string HttpsAddress = "10.0.2.100";

    StockHostVm(string directory, string kernel, string image, int? httpsPort)
    {
        Port = LoopbackPort.Free();
        Disk = Path.Combine(directory, "disk.img");
        ConsoleLog = Path.Combine(directory, "console.log");
        using (var file = File.Create(Disk)) file.SetLength(16 << 20);
        var start = new ProcessStartInfo("timeout")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var command = new QemuCommand
        {
            ConsoleFile = ConsoleLog,
            Kernel = new(kernel, image, "console=ttyS0 panic=-1"),
            Network = new() { HostForwards = [new(Port, 22)], GuestForwards = httpsPort is { } https ? [HttpsForward(https)] : [] },
            Disks = [new QemuDisk(Disk)],
        };
        foreach (string argument in (string[])["--signal=KILL", "900", "qemu-system-x86_64", .. command.Arguments()])
            start.ArgumentList.Add(argument);
        _qemu = Process.Start(start)!;
        _qemu.StandardInput.Close();
    }

    /// <summary>The guest's https://10.0.2.100/ as a guestfwd to the server on 127.0.0.1.</summary>
    static QemuGuestForward HttpsForward(int port) => new(HttpsAddress, 443, port);

    /// <summary>
    /// Boots a stock host from the built base image and waits for its sshd. With <paramref name="https"/> the guest
    /// reaches that server on 127.0.0.1 as https://10.0.2.100/, trusts its certificate alone and has curl.
    /// </summary>
    /// <param name="libc">musl: a root without glibc where programs look for it (<see cref="StockHostImage"/>).</param>
    public static StockHostVm Start(string directory, string artifacts, string hostKey, string authorizedKey, string? nextHostKey = null, LoopbackHttpsServer? https = null,
        Anemos.Tasks.Deploy.HostLibc libc = Anemos.Tasks.Deploy.HostLibc.Glibc)
    {
        Directory.CreateDirectory(directory);
        string image = Path.Combine(directory, "stock.img");
        StockHostImage.Write(image, Path.Combine(artifacts, "base.img"), PackagedHelper.File, hostKey, authorizedKey, nextHostKey, https?.CertificateFile, libc);
        var vm = new StockHostVm(directory, Path.Combine(artifacts, "vmlinuz"), image, https?.Port);
        vm.WaitForConsole(StockHostImage.ReadyLine, TimeSpan.FromSeconds(120));
        vm.WaitForSsh(TimeSpan.FromSeconds(120));
        return vm;
    }

    public string Console => File.Exists(ConsoleLog)
        ? QemuConsoleRun.EscapeSequence().Replace(Encoding.UTF8.GetString(File.ReadAllBytes(ConsoleLog)), "")
        : "(no console log)";

    public void WaitForConsole(string text, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (!Console.Contains(text, StringComparison.Ordinal))
        {
            if (clock.Elapsed > timeout || _qemu.HasExited)
                throw new TimeoutException($"'{text}' did not appear on the VM console within {timeout.TotalSeconds} s; console:\n{Console}");
            Thread.Sleep(250);
        }
    }

    /// <summary>Until sshd hands out its host key through the forward (it starts slowly under TCG).</summary>
    public void WaitForSsh(TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        string last = "";
        while (clock.Elapsed < timeout)
        {
            var scan = ProcessRunner.Run("ssh-keyscan", "-T", "10", "-t", "ed25519", "-p", Port.ToString(), "127.0.0.1");
            if (scan.StandardOutput.Contains("ssh-ed25519", StringComparison.Ordinal)) return;
            last = scan.Output;
            Thread.Sleep(1000);
        }
        throw new TimeoutException($"the VM's sshd gave no host key within {timeout.TotalSeconds} s ({last}); console:\n{Console}");
    }

    /// <summary>The first line the deploy payload wrote at the start of the disk, or "" when the disk is untouched.</summary>
    public string DiskRecord()
    {
        byte[] head = new byte[512];
        using (var disk = File.OpenRead(Disk)) disk.ReadExactly(head);
        return Encoding.ASCII.GetString(head).TrimEnd('\0').Split('\n')[0];
    }

    public void Dispose()
    {
        try { _qemu.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
        _qemu.WaitForExit();
        _qemu.Dispose();
    }
}
