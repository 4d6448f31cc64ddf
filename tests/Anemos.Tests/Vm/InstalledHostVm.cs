using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Anemos.Tasks.Rehearse;
using Anemos.Tests.Infrastructure;

namespace Anemos.Tests.Vm;

/// <summary>
/// samples/dns x or y as a server: a disk booted by SeaBIOS (no -kernel) in QEMU under TCG, the disk
/// the engine installed (or the stock Debian a first install starts from), with a data disk attached
/// second (or first: a stock machine whose boot disk is the second). Its user network has the dns
/// host's shape (<see cref="DnsHostNetwork"/>, as the rehearsal's phase 2 shapes it, and DHCP hands
/// out that address too): the installed system's static configuration, a stock system's DHCP and
/// the deploy init's (the helper's snapshot of either) all answer there. sshd is forwarded to
/// 127.0.0.1:PORT, the test's Debian mirror is the guest's <see cref="GuestMirror"/>. QEMU restarts
/// the machine when it reboots, as a server does; a time limit ends it.
/// </summary>
public sealed partial class InstalledHostVm : IDisposable
{
    public int Port { get; }
    /// <summary>The network the guest sits in (x's or y's).</summary>
    public DnsHostNetwork Network { get; }
    /// <summary>Where the guest reaches the test's mirror (the host's MIRROR variable).</summary>
    public string GuestMirror => "http://" + Network.Mirror;
    public string ConsoleLog { get; }
    public string DataDisk { get; }
    public ConsoleTimeline Timeline { get; }
    readonly Process _qemu;

    InstalledHostVm(string directory, string bootDisk, string dataDisk, string mirror, bool bootDiskSecond, DnsHostNetwork network, QemuFirmware? firmware)
    {
        Directory.CreateDirectory(directory);
        Port = LoopbackPort.Free();
        Network = network;
        ConsoleLog = Path.Combine(directory, "console.log");
        DataDisk = Path.Combine(directory, "data.img");
        File.Copy(dataDisk, DataDisk);
        var mirrorUri = new Uri(mirror);
        Assert.Equal("/", mirrorUri.AbsolutePath);
        // Serials as the rehearsal gives them: the helper names the boot disk by its serial.
        // snapshot=on: the boot disk stays as it was (the rehearsal's, the cached stock image), the VM's writes (kept across its reboots) go to a temporary overlay.
        var boot = new QemuDisk(bootDisk) { Serial = RehearsalDisks.SerialOf(0), Cache = "unsafe", Snapshot = true, BootIndex = 0 };
        var data = new QemuDisk(DataDisk) { Serial = RehearsalDisks.SerialOf(1) };
        var command = new QemuCommand
        {
            MemoryMiB = 1024,
            Firmware = firmware ?? QemuFirmware.Bios,
            ConsoleFile = ConsoleLog,
            Network = new()
            {
                Net = network.Net, Host = network.Gateway, DhcpStart = network.Address,
                HostForwards = [new(Port, 22, network.Address)],
                GuestForwards = [new(network.Mirror, 80, mirrorUri.Port)],
            },
            // The order on the PCI bus is the order the kernels name the disks in (vda, vdb).
            Disks = bootDiskSecond ? [data, boot] : [boot, data],
        };
        var start = new ProcessStartInfo("timeout") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string argument in (string[])["--signal=KILL", "5400", "qemu-system-x86_64", .. command.Arguments()])
            start.ArgumentList.Add(argument);
        _qemu = Process.Start(start)!;
        _qemu.StandardInput.Close();
        Timeline = new ConsoleTimeline(() => Console);
    }

    /// <summary>
    /// Boots the system on <paramref name="bootDisk"/> in <paramref name="network"/> (x's by default) and waits for its
    /// login prompt (as <paramref name="hostName"/>, by default the network's host) and its sshd.
    /// The firmware is SeaBIOS unless <paramref name="firmware"/> says otherwise (OVMF with the machine's variable store).
    /// </summary>
    public static InstalledHostVm Start(string directory, string bootDisk, string dataDisk, string mirror, string? hostName = null, bool bootDiskSecond = false,
        DnsHostNetwork? network = null, QemuFirmware? firmware = null)
    {
        network ??= DnsHostNetwork.Of("x");
        hostName ??= network.Host;
        var vm = new InstalledHostVm(directory, bootDisk, dataDisk, mirror, bootDiskSecond, network, firmware);
        try
        {
            vm.WaitFor(new Regex($"(?m)^{Regex.Escape(hostName)} login:"), TimeSpan.FromSeconds(600));
            vm.WaitForSsh(TimeSpan.FromSeconds(300));
        }
        catch
        {
            vm.Dispose();
            throw;
        }
        return vm;
    }

    [GeneratedRegex(@"install disk: /dev/(vd[a-z])\b")]
    private static partial Regex InstallDiskLine();

    public string Console => File.Exists(ConsoleLog)
        ? QemuConsoleRun.EscapeSequence().Replace(Encoding.UTF8.GetString(File.ReadAllBytes(ConsoleLog)), "").Replace("\r", "")
        : "(no console log)";

    public string ConsoleTail(int lines) => string.Join('\n', Console.Split('\n').TakeLast(lines));

    public int Count(string text) => Regex.Matches(Console, Regex.Escape(text)).Count;

    /// <summary>The disk each install by the deploy init named (its "install disk: /dev/vdX" line), in order.</summary>
    public List<string> InstallDisks() => InstallDiskLine().Matches(Console).Select(m => m.Groups[1].Value).ToList();

    void WaitFor(Regex pattern, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (!pattern.IsMatch(Console))
        {
            if (clock.Elapsed > timeout || _qemu.HasExited)
                throw new TimeoutException($"'{pattern}' did not appear on the VM console within {timeout.TotalSeconds} s; console tail:\n{ConsoleTail(60)}");
            Thread.Sleep(500);
        }
    }

    void WaitForSsh(TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        string last = "";
        while (clock.Elapsed < timeout)
        {
            var scan = ProcessRunner.Run("ssh-keyscan", "-T", "15", "-t", "ed25519", "-p", Port.ToString(CultureInfo.InvariantCulture), "127.0.0.1");
            if (scan.StandardOutput.Contains("ssh-ed25519", StringComparison.Ordinal)) return;
            last = scan.Output;
            Thread.Sleep(1000);
        }
        throw new TimeoutException($"the installed system's sshd gave no host key within {timeout.TotalSeconds} s ({last}); console tail:\n{ConsoleTail(60)}");
    }

    /// <summary>The fingerprint (SHA256:…) of the ed25519 host key the running system's sshd presents.</summary>
    public string HostKeyFingerprint()
    {
        var scan = ProcessRunner.Shell($"ssh-keyscan -T 15 -t ed25519 -p {Port} 127.0.0.1 2>/dev/null | ssh-keygen -lf -");
        Assert.True(scan.ExitCode == 0 && scan.StandardOutput.Contains("SHA256:", StringComparison.Ordinal), $"no host key from the VM: {scan}\n--- VM console tail:\n{ConsoleTail(40)}");
        return scan.StandardOutput.Split(' ')[1];
    }

    /// <summary>A command on the running system as <paramref name="user"/> (root by default, the operator's key), its standard output.</summary>
    public string Run(string identity, string command, string user = "root")
    {
        var result = ProcessRunner.Run("ssh", ["-F", "/dev/null", "-i", identity, "-p", Port.ToString(CultureInfo.InvariantCulture), "-o", "BatchMode=yes",
            "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", $"{user}@127.0.0.1", command], timeout: TimeSpan.FromMinutes(2));
        Assert.True(result.ExitCode == 0, $"{command} on the VM: {result}\n--- VM console tail:\n{ConsoleTail(40)}");
        return result.StandardOutput;
    }

    bool _disposed;

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        Timeline.Dispose();
        try { _qemu.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
        _qemu.WaitForExit();
        _qemu.Dispose();
    }
}

/// <summary>A samples/dns host's network (dns.proj's IPV4 and GATEWAY4), and an unused address in it for the mirror (a guestfwd must lie in the user network).</summary>
public sealed record DnsHostNetwork(string Host, string Net, string Gateway, string Address, string Mirror)
{
    public static DnsHostNetwork Of(string host) => host switch
    {
        "x" => new("x", "192.0.2.0/24", "192.0.2.1", "192.0.2.53", "192.0.2.100"),
        "y" => new("y", "198.51.100.0/24", "198.51.100.1", "198.51.100.53", "198.51.100.100"),
        _ => throw new ArgumentException($"samples/dns has no host {host}", nameof(host)),
    };
}

/// <summary>
/// When each boot, install result and login prompt appeared on a VM's console, seconds from the
/// start: the phases of a deploy as the guest saw them (measured, never asserted).
/// </summary>
public sealed class ConsoleTimeline : IDisposable
{
    static readonly (string Name, Regex Pattern)[] Markers =
    [
        ("kernel starts", new(@"Linux version \d")),
        ("install disk named", new(@"install disk: /dev/vd")),
        ("install result", new(@"ANEMOS-RESULT \w+")),
        ("login prompt", new(@"(?m)^\S+ login:")),
    ];

    readonly Func<string> _console;
    readonly Stopwatch _clock = Stopwatch.StartNew();
    readonly int[] _seen = new int[Markers.Length];
    readonly List<(string, TimeSpan)> _marks = [];
    readonly Timer _timer;

    public ConsoleTimeline(Func<string> console)
    {
        _console = console;
        _timer = new Timer(_ => Poll(), null, TimeSpan.Zero, TimeSpan.FromSeconds(1));
    }

    public IReadOnlyList<(string What, TimeSpan At)> Marks { get { lock (_marks) return _marks.ToList(); } }

    void Poll()
    {
        string text = _console();
        lock (_marks)
            for (int i = 0; i < Markers.Length; i++)
            {
                int count = Markers[i].Pattern.Matches(text).Count;
                for (; _seen[i] < count; _seen[i]++) _marks.Add(($"{Markers[i].Name} #{_seen[i] + 1}", _clock.Elapsed));
            }
    }

    public void Dispose()
    {
        _timer.Dispose();
        Poll();
    }
}
