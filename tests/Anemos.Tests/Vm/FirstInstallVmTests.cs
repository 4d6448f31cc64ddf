using System.Globalization;
using System.Text.RegularExpressions;
using Anemos.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Anemos.Tests.Vm;

/// <summary>
/// samples/dns x from a stock Debian 12 machine, then again from x (issue 11, points 2–4). The first
/// install (<see cref="FirstInstalledDnsHost"/>, once): the stock disk boots with SeaBIOS behind a
/// data disk, `dotnet publish -p:Host=x -p:PublishProfile=x-first-install` logs in as `debian`
/// (sudo -n) pinning the stock key, installs the helper, kexecs through systemd, the engine installs
/// x from the local mirror onto the disk the stock system booted from, and x comes back with its own
/// key. The reinstall: a change under files/ and a plain publish as root. Verdicts come from what
/// the guest wrote and answered; each test prints the phases it measured.
/// </summary>
[LongRunning(25)] // a stock image, a first install and a reinstall
public sealed class FirstInstallVmTests(FirstInstalledDnsHost host, ITestOutputHelper output) : IClassFixture<FirstInstalledDnsHost>
{
    /// <summary>What the deploy init prints when it chose the disk the old system booted from (serial as InstalledHostVm gives it).</summary>
    static readonly string BootDiskLine = $"install disk: /dev/vdb (boot disk, serial {Anemos.Tasks.RehearseAnemosHost.SerialOf(0)})";

    [Fact]
    public void AStockDebianMachineBecomesXOnTheDiskItBootedFromAndAnswersWithXsKey()
    {
        foreach (var (what, time) in host.Phases) output.WriteLine($"{what}: {time.TotalSeconds:0.0} s");
        if (host.Result is { } published) Report(published, 1);
        Assert.True(host.Succeeded, host.Why);
        var result = host.Result!;
        string context = host.Why;

        // In as the stock image's debian through sudo, its own key pinned; the helper took systemd's kexec path.
        Assert.True(result.Output.Contains($"deploy x: connect") && result.Output.Contains($"debian@127.0.0.1:{host.Vm.Port}, host key {host.Image.HostKeyFingerprint} pinned"), context);
        Assert.Matches(@"deploy x: facts .*init systemd", result.Output);
        Assert.Contains("back with a new boot id", result.Output);
        Assert.True(result.Output.Contains($"reports payload {host.PayloadAfterInstall[..12]}, healthy"), context);
        Assert.Equal("deployed", host.OutcomeAfterInstall);

        // One install, on the disk the stock system booted from (the second on the bus), then x from that disk.
        Assert.True(Regex.Matches(host.ConsoleAfterInstall, "ANEMOS-RESULT ok host=x").Count == 1, context);
        Assert.Equal(["vdb"], InstallDisks(host.ConsoleAfterInstall));
        Assert.Contains(BootDiskLine, host.ConsoleAfterInstall);
        Assert.Matches(@"(?m)^x login:", host.ConsoleAfterInstall);
        // x's own host key (dns.proj's secret), not the stock image's.
        Assert.Equal(host.Copy.Fingerprint, host.HostKeyAfterInstall);
        Assert.Equal(host.DataSha256, host.DataSha256AfterInstall);
    }

    /// <summary>
    /// The system the first install left is deployed again with a changed file under files/, as
    /// root with x's key pinned: helper installed (the install wiped the cache), kexec, the engine
    /// reinstalls x from the IMGBUILD, reboot, new boot id, payload and health verified, the change
    /// served. x has iproute2, so the helper hands the deploy init x's static network (no
    /// ANEMOS4042, no DHCP). The data disk is byte-identical: the reinstall lands on the disk x
    /// booted from, though no TargetDisk names it.
    /// </summary>
    [Fact]
    public void PublishReinstallsXAndItComesBackWithTheChange()
    {
        Assert.True(host.Succeeded, "the first install failed:\n" + host.Why);
        var vm = host.Vm;
        File.AppendAllText(host.Copy.Zone, "reinstalled IN TXT \"anemos reinstalled me\"\n");
        Assert.Equal("0\n", vm.Run(host.Copy.OperatorKey, "grep -c 'anemos reinstalled me' /etc/nsd/zones/example.org.zone || true"));

        var clock = System.Diagnostics.Stopwatch.StartNew();
        int consoleBefore = vm.Console.Length;
        var result = host.Copy.Publish();
        output.WriteLine($"reinstall: publish {clock.Elapsed.TotalSeconds:0.0} s, the build included");
        string console = vm.Console;
        Report(result, 2);
        string context = $"{result}\n--- VM console tail:\n{vm.ConsoleTail(60)}";
        Assert.True(result.ExitCode == 0, context);
        Assert.True(result.Output.Contains($"reports payload {Payload()[..12]}, healthy"), context);
        Assert.Contains("back with a new boot id", result.Output);
        Assert.Equal("deployed", DeployReport().GetProperty("outcome").GetString());
        // x reports its static network: the deploy init used it, no DHCP.
        Assert.DoesNotContain("ANEMOS4042", result.Output);
        string reinstall = console[consoleBefore..];
        Assert.Contains("static network from /anemos/network.conf", reinstall);
        Assert.DoesNotContain("anemos[network]: DHCP on", reinstall);

        Assert.True(vm.Count("ANEMOS-RESULT ok host=x") == 2, context);
        Assert.Equal(["vdb", "vdb"], vm.InstallDisks());
        Assert.Equal(Payload() + "\n", vm.Run(host.Copy.OperatorKey, "cat /etc/anemos/payload.sha256"));
        Assert.Contains("anemos reinstalled me", vm.Run(host.Copy.OperatorKey, "nsd-control zonestatus example.org >/dev/null && grep reinstalled /etc/nsd/zones/example.org.zone"));
        Assert.Equal(host.Copy.Fingerprint, vm.HostKeyFingerprint());

        vm.Dispose();
        Assert.Equal(host.DataSha256, RehearsedDnsHost.Sha256Of(vm.DataDisk));
    }

    string Payload() => host.Copy.Payload();

    System.Text.Json.JsonElement DeployReport() => host.Copy.DeployReport();

    static List<string> InstallDisks(string console) =>
        Regex.Matches(console, @"install disk: /dev/(vd[a-z])\b").Select(m => m.Groups[1].Value).ToList();

    /// <summary>
    /// The deploy's phase lines and the parts of the <paramref name="install"/>th install the guest
    /// showed: ours (connect … boot), the install (the installer's kernel starts → its result line)
    /// and the reboot (result line → x's login prompt); the bytes sent are on the phase lines.
    /// </summary>
    void Report(ProcessResult result, int install)
    {
        var lines = result.Output.Split('\n').Where(l => l.Contains("deploy x:")).Select(l => l.Trim()).ToList();
        foreach (string line in lines) output.WriteLine("  " + line);
        double ours = lines.Select(l => Regex.Match(l, @"deploy x: (connect|facts|plan|upload|stage|boot) ([\d.]+) s"))
            .Where(m => m.Success).Sum(m => double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture));
        output.WriteLine($"  ours (connect … boot): {ours:0.0} s");
        var marks = host.Vm?.Timeline.Marks ?? [];
        foreach (var (what, at) in marks) output.WriteLine($"  VM {at.TotalSeconds,7:0.0} s: {what}");
        // The installer's kernel: the last kernel start before the install's disk line (the installed systems boot with
        // GRUB's `quiet`, their kernels print nothing).
        TimeSpan? At(string what) => marks.Where(m => m.What == what).Select(m => (TimeSpan?)m.At).FirstOrDefault();
        var named = At($"install disk named #{install}");
        var installer = marks.Where(m => m.What.StartsWith("kernel starts", StringComparison.Ordinal) && m.At <= named).Select(m => (TimeSpan?)m.At).LastOrDefault();
        var done = At($"install result #{install}");
        var login = At($"login prompt #{install + 1}");
        if (installer is { } a && done is { } b) output.WriteLine($"  install: installer kernel → result line {(b - a).TotalSeconds:0.0} s");
        if (done is { } c && login is { } d) output.WriteLine($"  reboot: result line → x's login prompt {(d - c).TotalSeconds:0.0} s");
    }
}
