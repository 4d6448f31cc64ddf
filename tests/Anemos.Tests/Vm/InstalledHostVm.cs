using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Anemos.Tasks;
using Anemos.Tests.Infrastructure;

namespace Anemos.Tests.Vm;

/// <summary>
/// samples/dns x as a server: the disk the engine installed, booted by SeaBIOS (no -kernel) in
/// QEMU under TCG, with a data disk attached second. Its user network has x's shape (IPV4
/// 192.0.2.53/24, gateway 192.0.2.1, as the rehearsal's phase 2 shapes it): the installed
/// system's static configuration and the deploy init's (the helper's snapshot of it) both answer
/// there. sshd is forwarded to 127.0.0.1:PORT, the test's Debian mirror is the guest's
/// 192.0.2.100:80. QEMU restarts the machine when it reboots, as a server does; a time limit ends it.
/// </summary>
public sealed partial class InstalledHostVm : IDisposable
{
    /// <summary>x's address and network, from samples/dns/dns.proj.</summary>
    const string Net = "192.0.2.0/24", Gateway = "192.0.2.1", Address = "192.0.2.53";
    /// <summary>Where the guest reaches the mirror: an unused address in x's subnet (a guestfwd must lie in the user network).</summary>
    const string MirrorAddress = "192.0.2.100";
    public const string GuestMirror = "http://" + MirrorAddress;

    public int Port { get; }
    public string ConsoleLog { get; }
    public string DataDisk { get; }
    public ConsoleTimeline Timeline { get; }
    readonly Process _qemu;

    InstalledHostVm(string directory, string installedDisk, string dataDisk, string mirror)
    {
        Directory.CreateDirectory(directory);
        Port = LoopbackPort.Free();
        ConsoleLog = Path.Combine(directory, "console.log");
        DataDisk = Path.Combine(directory, "data.img");
        File.Copy(dataDisk, DataDisk);
        var mirrorUri = new Uri(mirror);
        Assert.Equal("/", mirrorUri.AbsolutePath);
        var start = new ProcessStartInfo("timeout") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string argument in (string[])["--signal=KILL", "5400", "qemu-system-x86_64",
                     "-accel", "tcg", "-m", "1024", "-display", "none", "-nodefaults", "-monitor", "none", "-serial", "file:" + ConsoleLog, "-boot", "c",
                     "-netdev", $"user,id=n,restrict=on,net={Net},host={Gateway},hostfwd=tcp:127.0.0.1:{Port}-{Address}:22,"
                                + RehearseAnemosHost.MirrorForward(MirrorAddress, mirrorUri.Port),
                     "-device", "virtio-net-pci,netdev=n",
                     // Serials as the rehearsal gives them: the helper names the boot disk by its serial.
                     // snapshot=on: the installed disk stays as the rehearsal left it, the VM's writes (kept across its reboots) go to a temporary overlay.
                     "-drive", $"file={installedDisk},format=raw,if=none,id=disk0,cache=unsafe,snapshot=on", "-device", $"virtio-blk-pci,drive=disk0,serial={RehearseAnemosHost.SerialOf(0)},bootindex=0",
                     "-drive", $"file={DataDisk},format=raw,if=none,id=disk1", "-device", $"virtio-blk-pci,drive=disk1,serial={RehearseAnemosHost.SerialOf(1)}"])
            start.ArgumentList.Add(argument);
        _qemu = Process.Start(start)!;
        _qemu.StandardInput.Close();
        Timeline = new ConsoleTimeline(() => Console);
    }

    /// <summary>Boots the installed system and waits for its login prompt and its sshd.</summary>
    public static InstalledHostVm Start(string directory, string installedDisk, string dataDisk, string mirror)
    {
        var vm = new InstalledHostVm(directory, installedDisk, dataDisk, mirror);
        try
        {
            vm.WaitFor(LoginPrompt(), TimeSpan.FromSeconds(600));
            vm.WaitForSsh(TimeSpan.FromSeconds(300));
        }
        catch
        {
            vm.Dispose();
            throw;
        }
        return vm;
    }

    [GeneratedRegex(@"(?m)^x login:")]
    internal static partial Regex LoginPrompt();

    [GeneratedRegex(@"install disk: /dev/(vd[a-z])\b")]
    private static partial Regex InstallDiskLine();

    public string Console => File.Exists(ConsoleLog)
        ? RehearseAnemosHost.EscapeSequence().Replace(Encoding.UTF8.GetString(File.ReadAllBytes(ConsoleLog)), "").Replace("\r", "")
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

    /// <summary>A command as root on the running system (the operator's key), its standard output.</summary>
    public string Run(string identity, string command)
    {
        var result = ProcessRunner.Run("ssh", ["-F", "/dev/null", "-i", identity, "-p", Port.ToString(CultureInfo.InvariantCulture), "-o", "BatchMode=yes",
            "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "root@127.0.0.1", command], timeout: TimeSpan.FromMinutes(2));
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
