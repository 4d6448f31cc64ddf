using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Anemos.Core.Cpio;
using Anemos.Core.Initramfs;
using Anemos.Tests.Infrastructure;

namespace Anemos.Tests.Vm;

/// <summary>
/// A "stock host": a QEMU VM (TCG) booting Debian's kernel with the sample base initramfs plus a
/// segment holding OpenSSH's sshd and the shared libraries it and the helper need, reachable only
/// through a loopback port forward. No helper is installed: the deploy brings it. When QEMU resets
/// (the deploy init reboots), the same image boots again and plays the new system: it reports the
/// payload the deploy wrote to its disk in /etc/anemos/payload.sha256, and is healthy when told so.
/// </summary>
public sealed class StockHostVm : IDisposable
{
    public const string DiskRecordPrefix = "ANEMOS-DEPLOYED";
    public int Port { get; }
    public string Disk { get; }
    public string ConsoleLog { get; }
    readonly Process _qemu;

    StockHostVm(string directory, string kernel, string image)
    {
        Port = FreeLoopbackPort();
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
        foreach (string argument in (string[])["--signal=KILL", "900", "qemu-system-x86_64",
                     "-accel", "tcg", "-m", "512", "-display", "none", "-nodefaults", "-monitor", "none", "-serial", "file:" + ConsoleLog,
                     "-kernel", kernel, "-initrd", image, "-append", "console=ttyS0 panic=-1",
                     "-drive", $"file={Disk},format=raw,if=virtio",
                     "-netdev", $"user,id=n,restrict=on,hostfwd=tcp:127.0.0.1:{Port}-:22", "-device", "virtio-net-pci,netdev=n"])
            start.ArgumentList.Add(argument);
        _qemu = Process.Start(start)!;
        _qemu.StandardInput.Close();
    }

    /// <summary>Boots a stock host from the built base image and waits for its sshd.</summary>
    public static StockHostVm Start(string directory, string artifacts, string hostKey, string authorizedKey)
    {
        Directory.CreateDirectory(directory);
        string segment = Path.Combine(directory, "stock.cpio");
        WriteStockSegment(segment, hostKey, authorizedKey);
        string image = Path.Combine(directory, "stock.img");
        InitramfsLayout.AssembleFile(Path.Combine(artifacts, "base.img"), [segment], image);
        var vm = new StockHostVm(directory, Path.Combine(artifacts, "vmlinuz"), image);
        vm.WaitForConsole("STOCK-HOST ready", TimeSpan.FromSeconds(120));
        vm.WaitForSsh(TimeSpan.FromSeconds(120));
        return vm;
    }

    public string Console => File.Exists(ConsoleLog)
        ? System.Text.RegularExpressions.Regex.Replace(Encoding.UTF8.GetString(File.ReadAllBytes(ConsoleLog)), @"\x1b(\[[0-9;?]*[A-Za-z]|c)", "")
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

    static int FreeLoopbackPort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    static void WriteStockSegment(string path, string hostKey, string authorizedKey)
    {
        var libraries = new SortedSet<string>(StringComparer.Ordinal);
        foreach (string program in new[] { "/usr/sbin/sshd", PackagedHelper.File })
        {
            var ldd = ProcessRunner.Run("ldd", program);
            Assert.True(ldd.ExitCode == 0, ldd.ToString());
            foreach (string library in ldd.StandardOutput.Split('\n').SelectMany(l => l.Split([' ', '\t'])).Where(w => w.StartsWith('/')))
                libraries.Add(library);
        }
        var files = new List<(string Name, byte[]? Content, string? Source, uint Mode)>
        {
            ("usr/sbin/sshd", null, "/usr/sbin/sshd", 0x1ED),
            ("etc/passwd", Encoding.ASCII.GetBytes("root:x:0:0:root:/root:/bin/sh\nsshd:x:100:65534::/run/sshd:/bin/false\n"), null, 0x1A4),
            ("etc/group", Encoding.ASCII.GetBytes("root:x:0:\nnogroup:x:65534:\n"), null, 0x1A4),
            ("etc/shadow", Encoding.ASCII.GetBytes("root:*:19000:0:99999:7:::\nsshd:*:19000:0:99999:7:::\n"), null, 0x180),
            ("etc/ssh/host_key", null, hostKey, 0x180),
            ("etc/ssh/authorized_keys", null, authorizedKey, 0x1A4),
            ("etc/ssh/sshd_config", Encoding.ASCII.GetBytes("""
                Port 22
                HostKey /etc/ssh/host_key
                AuthorizedKeysFile /etc/ssh/authorized_keys
                PermitRootLogin prohibit-password
                PasswordAuthentication no
                KbdInteractiveAuthentication no
                UsePAM no
                StrictModes no
                MaxSessions 50
                PidFile /run/sshd.pid
                LogLevel VERBOSE

                """), null, 0x1A4),
            ("init", Encoding.ASCII.GetBytes(StockInit), null, 0x1ED),
        };
        foreach (string library in libraries) files.Add((library.TrimStart('/'), null, library, 0x1ED));

        var directories = new SortedSet<string>(StringComparer.Ordinal) { "root", "run", "run/sshd", "var", "var/empty", "etc/anemos" };
        foreach (var (name, _, _, _) in files)
            for (string? parent = Path.GetDirectoryName(name); !string.IsNullOrEmpty(parent); parent = Path.GetDirectoryName(parent))
                directories.Add(parent);

        using var stream = File.Create(path);
        using var cpio = new NewcWriter(stream);
        foreach (string directory in directories) cpio.AddDirectory(directory);
        foreach (var (name, content, source, mode) in files)
        {
            if (content is not null) cpio.AddFile(name, content, mode);
            else
                using (var file = File.OpenRead(source!)) // follows library symlinks to their files
                    cpio.AddFile(name, file, file.Length, mode);
        }
        cpio.Finish();
    }

    /// <summary>The stock host's init: drivers, a static address on QEMU's user network, the disk's record, sshd.</summary>
    const string StockInit = """
        #!/bin/sh
        /bin/busybox --install -s
        export PATH=/usr/sbin:/usr/bin:/sbin:/bin
        mount -t proc proc /proc
        mount -t sysfs sysfs /sys
        mount -t devtmpfs devtmpfs /dev
        exec </dev/console >/dev/console 2>&1
        while read -r module; do insmod "$module" 2>/dev/null; done </etc/anemos/modules
        waited=0
        while [ ! -e /dev/vda ] || [ ! -e /sys/class/net/eth0 ]; do
            [ "$waited" -ge 50 ] && break
            sleep 0.2; waited=$((waited + 1))
        done
        ip link set lo up
        ip link set eth0 up
        ip addr add 10.0.2.15/24 dev eth0
        ip route add default via 10.0.2.2
        record=$(head -c 512 /dev/vda | tr -d '\000' | head -n 1)
        case "$record" in
            ANEMOS-DEPLOYED*)
                echo "STOCK-HOST booted a deployed system: $record"
                for field in $record; do
                    case "$field" in
                        payload=*) echo "${field#payload=}" >/etc/anemos/payload.sha256 ;;
                        healthy=yes) touch /run/healthy ;;
                    esac
                done ;;
        esac
        /usr/sbin/sshd -D -e -f /etc/ssh/sshd_config >/dev/console 2>&1 &
        sleep 0.5
        echo "STOCK-HOST ready"
        while true; do sleep 3600; done

        """;

    public void Dispose()
    {
        try { _qemu.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
        _qemu.WaitForExit();
        _qemu.Dispose();
    }
}
