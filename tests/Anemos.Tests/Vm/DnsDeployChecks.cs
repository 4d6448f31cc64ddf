using System.Globalization;
using System.Text.RegularExpressions;
using Anemos.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Anemos.Tests.Vm;

/// <summary>
/// A publish of a samples/dns host (x or y) to a VM judged the same way wherever it starts from: the
/// install streamed live as it happened, the reinstall with a change, and the phases it took.
/// </summary>
public static class DnsDeployChecks
{
    /// <summary>
    /// The live log (issue 15, docs/deploy.md): the deploy environment answered with the host's own
    /// key for dns.proj's AuthorizedKeys, and publish printed the engine's steps with apt's and dpkg's
    /// package counts, in order, and the result line, all before the new system answered.
    /// </summary>
    public static void AssertInstallStreamed(ProcessResult result, string host, string context)
    {
        string output = result.Output, prefix = $@"\[{Regex.Escape(host)}\] \S+ makeimg";
        int At(string pattern)
        {
            var match = Regex.Match(output, pattern);
            Assert.True(match.Success, $"'{pattern}' is not in the publish output (the live log):\n{context}");
            return match.Index;
        }
        int bootstrap = At(prefix + @"\[bootstrap\]: ");
        int retrieved = At(prefix + @"\[bootstrap\]: Get:\d+ \S+ .* \(package \d+ retrieved\)");
        int unpacked = At(prefix + @"\[bootstrap\]: Unpacking \S+ .*\(unpacked \d+/\d+\)");
        int provision = At(prefix + @"\[provision\]: ");
        int finish = At(prefix + @"\[finish\]: built image");
        int resultLine = At($@"\[{Regex.Escape(host)}\] ANEMOS-RESULT ok host={Regex.Escape(host)} ");
        int back = At("back with a new boot id");
        Assert.True(bootstrap <= retrieved && retrieved < unpacked && unpacked < provision && provision < finish && finish < resultLine && resultLine < back,
            $"the streamed steps are out of order (bootstrap {bootstrap}, retrieved {retrieved}, unpacked {unpacked}, provision {provision}, finish {finish}, result {resultLine}, back {back}):\n{context}");
        Assert.Matches(@"live log: \d+ line\(s\) over \d+ connection\(s\)", output);
        Assert.DoesNotContain("no live log", output);
    }

    /// <summary>
    /// The system on <paramref name="vm"/> deployed again with a changed file under files/, as root
    /// with the host's key pinned: helper installed (an install wipes the cache), kexec, the engine
    /// reinstalls from the IMGBUILD onto <paramref name="installDisk"/> (the disk the system booted
    /// from: no TargetDisk names it), reboot, new boot id, payload and health verified, the change
    /// served, the install streamed live. The host has iproute2, so the helper hands the deploy init
    /// its static network (no ANEMOS4042, no DHCP). The data disk stays byte-identical.
    /// </summary>
    public static void PublishAChangeAndVerify(DnsSampleCopy copy, InstalledHostVm vm, string installDisk, string dataSha256, ITestOutputHelper output)
    {
        string host = copy.Host;
        File.AppendAllText(copy.Zone, "reinstalled IN TXT \"anemos reinstalled me\"\n");
        Assert.Equal("0\n", vm.Run(copy.OperatorKey, "grep -c 'anemos reinstalled me' /etc/nsd/zones/example.org.zone || true"));
        int installsBefore = vm.Count($"ANEMOS-RESULT ok host={host}");
        var disksBefore = vm.InstallDisks();

        var clock = System.Diagnostics.Stopwatch.StartNew();
        int consoleBefore = vm.Console.Length;
        var result = copy.Publish();
        output.WriteLine($"reinstall of {host}: publish {clock.Elapsed.TotalSeconds:0.0} s, the build included");
        string console = vm.Console;
        Report(result, host, vm, installsBefore + 1, output);
        string context = $"{result}\n--- VM console tail:\n{vm.ConsoleTail(60)}";
        Assert.True(result.ExitCode == 0, context);
        string payload = copy.Payload();
        Assert.True(result.Output.Contains($"reports payload {payload[..12]}, healthy"), context);
        Assert.Contains("back with a new boot id", result.Output);
        Assert.Equal("deployed", copy.DeployReport().GetProperty("outcome").GetString());
        AssertInstallStreamed(result, host, context);
        // The host reports its static network: the deploy init used it, no DHCP.
        Assert.DoesNotContain("ANEMOS4042", result.Output);
        string reinstall = console[consoleBefore..];
        Assert.Contains("static network from /anemos/network.conf", reinstall);
        Assert.DoesNotContain("anemos[network]: DHCP on", reinstall);

        Assert.True(vm.Count($"ANEMOS-RESULT ok host={host}") == installsBefore + 1, context);
        Assert.Equal([.. disksBefore, installDisk], vm.InstallDisks());
        Assert.Equal(payload + "\n", vm.Run(copy.OperatorKey, "cat /etc/anemos/payload.sha256"));
        Assert.Equal(host + "\n", vm.Run(copy.OperatorKey, "cat /etc/hostname"));
        Assert.Contains("anemos reinstalled me", vm.Run(copy.OperatorKey, "nsd-control zonestatus example.org >/dev/null && grep reinstalled /etc/nsd/zones/example.org.zone"));
        Assert.Equal(copy.Fingerprint, vm.HostKeyFingerprint());

        vm.Dispose();
        Assert.Equal(dataSha256, RehearsedDnsHost.Sha256Of(vm.DataDisk));
    }

    /// <summary>
    /// The deploy's phase lines and the parts of the <paramref name="install"/>th install the guest
    /// showed: ours (connect … boot), the install (the installer's kernel starts → its result line)
    /// and the reboot (result line → the host's login prompt); the bytes sent are on the phase lines.
    /// Printed, never asserted.
    /// </summary>
    public static void Report(ProcessResult result, string host, InstalledHostVm? vm, int install, ITestOutputHelper output)
    {
        var lines = result.Output.Split('\n').Where(l => l.Contains($"deploy {host}:")).Select(l => l.Trim()).ToList();
        foreach (string line in lines) output.WriteLine("  " + line);
        double ours = lines.Select(l => Regex.Match(l, $@"deploy {Regex.Escape(host)}: (connect|facts|plan|upload|stage|boot) ([\d.]+) s"))
            .Where(m => m.Success).Sum(m => double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture));
        output.WriteLine($"  ours (connect … boot): {ours:0.0} s");
        var marks = vm?.Timeline.Marks ?? [];
        foreach (var (what, at) in marks) output.WriteLine($"  VM {at.TotalSeconds,7:0.0} s: {what}");
        // The installer's kernel: the last kernel start before the install's disk line (the installed systems boot with
        // GRUB's `quiet`, their kernels print nothing).
        TimeSpan? At(string what) => marks.Where(m => m.What == what).Select(m => (TimeSpan?)m.At).FirstOrDefault();
        var named = At($"install disk named #{install}");
        var installer = marks.Where(m => m.What.StartsWith("kernel starts", StringComparison.Ordinal) && m.At <= named).Select(m => (TimeSpan?)m.At).LastOrDefault();
        var done = At($"install result #{install}");
        // The VM's first login prompt is the system it booted; each install adds one.
        var login = At($"login prompt #{install + 1}");
        if (installer is { } a && done is { } b) output.WriteLine($"  install: installer kernel → result line {(b - a).TotalSeconds:0.0} s");
        if (done is { } c && login is { } d) output.WriteLine($"  reboot: result line → {host}'s login prompt {(d - c).TotalSeconds:0.0} s");
    }
}
