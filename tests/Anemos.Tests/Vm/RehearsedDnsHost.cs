using System.Diagnostics;
using System.Security.Cryptography;
using Anemos.Tests.Engine;
using Anemos.Tests.Infrastructure;

namespace Anemos.Tests.Vm;

/// <summary>
/// One rehearsal of a samples/dns host (x here, y in <see cref="RehearsedDnsHostY"/>), shared by the
/// tests that start from its result: a copy of samples/installer and samples/dns for the local
/// signed mirror (<see cref="DnsSampleCopy"/>), an install disk and a data disk. The rehearsal runs
/// once; its output, console logs and disks stay for the tests to judge and to boot again.
/// </summary>
public class RehearsedDnsHost : IAsyncLifetime
{
    // xunit builds a class fixture through its only public constructor.
    public RehearsedDnsHost() : this("x") { }

    protected RehearsedDnsHost(string host) => Host = host;

    /// <summary>The host rehearsed: x or y.</summary>
    public string Host { get; }
    public DnsMirrorFixture Mirror { get; } = new();
    public string Root { get; } = TestProject.NewDirectory();
    DnsSampleCopy? _copy;
    /// <summary>The copy of the samples the rehearsal ran on (its secrets, its operator key), for the tests that deploy it again.</summary>
    public DnsSampleCopy Copy => _copy!;
    public string Dns => Path.Combine(Root, "dns");
    public string Project => Path.Combine(Dns, "dns.proj");
    public string Home => Path.Combine(Root, "home");
    public string OperatorKey => Path.Combine(Home, "operator");
    /// <summary>The host's pinned host key, the fingerprint of its secret.</summary>
    public string Fingerprint => _copy?.Fingerprint ?? "";
    /// <summary>The data disk's sha256 before the rehearsal, and of the rehearsal's copy afterwards.</summary>
    public string DataSha256 { get; private set; } = "";
    public string DataSha256After { get; private set; } = "";
    public string Memory { get; } = System.Environment.GetEnvironmentVariable("ANEMOS_REHEARSE_MEMORY") is { Length: > 0 } m ? m : "512";
    public ProcessResult? Result { get; private set; }
    public TimeSpan Elapsed { get; private set; }
    /// <summary>Rehearsal folders left in the rehearsal's own temporary folder (its TMPDIR: another rehearsal running at the same time has its own).</summary>
    public IReadOnlyList<string> TemporaryLeftOver { get; private set; } = [];
    string Temporary => Path.Combine(Root, "tmp");
    /// <summary>obj/anemos/rehearse/HOST: console.log, boot-console.log, disk0.img (the installed system), data.img.</summary>
    public string WorkDirectory => Path.Combine(Dns, "obj", "anemos", "rehearse", Host);
    public string InstallDisk => Path.Combine(WorkDirectory, "disk0.img");
    public string DataDisk => Path.Combine(WorkDirectory, "data.img");
    public bool Succeeded => Result is { ExitCode: 0 } r && r.Output.Contains($"ANEMOS-RESULT ok host={Host}", StringComparison.Ordinal);

    /// <summary>
    /// The rehearsal's own TMPDIR (<see cref="TemporaryLeftOver"/>), and so its own package folder:
    /// NuGet's cross-process lock for a package folder lives under TMPDIR, so two restores into one
    /// shared folder with different TMPDIRs would extract the same package at once.
    /// </summary>
    public Dictionary<string, string?> Environment()
    {
        var environment = _copy!.Environment(packages: Path.Combine(Root, "packages"));
        environment["TMPDIR"] = Temporary;
        return environment;
    }

    public string Tail(string file) => File.Exists(Path.Combine(WorkDirectory, file))
        ? string.Join('\n', File.ReadAllLines(Path.Combine(WorkDirectory, file)).TakeLast(40)) : "(no " + file + ")";

    /// <summary>Why a test that needs the rehearsal failed: its output and both consoles' tails.</summary>
    public string Why => $"{Result}\n---- install console tail ----\n{Tail("console.log")}\n---- boot console tail ----\n{Tail("boot-console.log")}";

    public async Task InitializeAsync()
    {
        await Mirror.InitializeAsync();
        await Task.Run(Rehearse);
    }

    void Rehearse()
    {
        _copy = new DnsSampleCopy(Root, Mirror, host: Host);
        _copy.AppendToProject("""
              <ItemGroup>
                <AnemosRehearseDisk Include="disk0" Size="8G" />
                <AnemosRehearseDisk Include="data" Size="64M" Source="../data.img" />
              </ItemGroup>
            """);
        // Beside the project, not in it: every file in the project folder is payload (payload.md), and a deploy would carry it.
        DataSha256 = DnsSampleCopy.MakeDataDisk(Path.Combine(Root, "data.img"));
        Directory.CreateDirectory(Temporary);

        // bench/rehearse-dns.sh measures smaller memories with the same test; 512 MiB otherwise (docs/rehearse.md).
        var clock = Stopwatch.StartNew();
        Result = ProcessRunner.Run("dotnet",
            ["build", Project, "-nologo", "-nodeReuse:false", "-t:Rehearse", $"-p:Host={Host}", "-p:AnemosRehearseAccelerator=tcg", $"-p:AnemosRehearseMemory={Memory}",
             $"-p:AnemosRehearseMirror={Mirror.Mirror}", $"-p:HOME={Home}", $"-p:AnemosSshIdentityFile={OperatorKey}", "-p:AnemosRehearseTimeout=2700", "-p:AnemosRehearseBootTimeout=600",
             // The installed disk, which holds the host's key, is booted again by the tests: kept (ANEMOS3130), not deleted at the end.
             "-p:AnemosRehearseKeepDisks=true"],
            Dns, Environment(), TimeSpan.FromMinutes(55));
        Elapsed = clock.Elapsed;
        if (File.Exists(DataDisk)) DataSha256After = Sha256Of(DataDisk);
        TemporaryLeftOver = Directory.GetDirectories(Temporary, "anemos-rehearse-*");
    }

    /// <summary>
    /// The rehearsal's verdict as the guest gave it: installed, booted from its disk to the login
    /// prompt, sshd with the host's own key, the health check passed, the data disk unchanged, the
    /// secrets' temporary folder gone.
    /// </summary>
    public void AssertInstalledBootedAndHealthy(Xunit.Abstractions.ITestOutputHelper output)
    {
        var result = Result!;
        output.WriteLine($"rehearsal of {Host} ({Memory} MiB, TCG): {Elapsed.TotalSeconds:0} s, the build included");
        foreach (string line in result.Output.Split('\n').Where(l => l.Contains($"rehearse {Host}:"))) output.WriteLine(line.Trim());
        // Where the install's time went (bench/rehearse-dns.sh prints it as a row).
        string? steps = EngineSteps.Summary(result.Output);
        if (steps is not null) output.WriteLine(steps);

        Assert.True(result.ExitCode == 0, Why);
        Assert.Contains($"ANEMOS-RESULT ok host={Host}", result.Output);
        Assert.Contains("makeimg[provision]", result.Output);
        // The installer's zram module: the deploy init's compressed swap in RAM, half of MemTotal (docs/deploy.md, "Memory").
        Assert.Matches(@"anemos\[modules\]: compressed swap in RAM: \d+ MiB on /dev/zram0 \(", result.Output);
        // The SDK's own kernel arguments reached the deploy kernel (docs/deploy.md, "The deploy kernel's command line"): its own words.
        string installConsole = File.ReadAllText(Path.Combine(WorkDirectory, "console.log"));
        Assert.Contains("heap alloc:off", installConsole);
        Assert.Contains("mitigations=off", installConsole);
        Assert.True(steps is not null, "the rehearsal's output has no timestamped engine step lines:\n" + Why);
        // The guest's own words: the login prompt of the installed system, on its serial console.
        Assert.Matches($@"(?m)^{Host} login:", File.ReadAllText(Path.Combine(WorkDirectory, "boot-console.log")));
        Assert.Contains($"healthy: sshd answers with {Host}'s own host key {Fingerprint}", result.Output);
        // dns.proj's AnemosHealthCheck (NSD active and serving example.org), run as root over ssh on the installed system.
        Assert.Matches(@"health check passed after \d", result.Output);
        Assert.Contains("1 other disk(s) unchanged", result.Output);
        Assert.Equal(DataSha256, DataSha256After);
        // The secrets segment lived in a temporary folder that is gone.
        Assert.Empty(TemporaryLeftOver);
        Assert.False(File.Exists(Path.Combine(WorkDirectory, "initramfs.img")), "an initramfs with secrets must not stay in obj/");
        Assert.Contains("warning ANEMOS3130", result.Output);
        // The VM installed through the caching pass-through (AnemosRehearseMirror names the test's
        // mirror): every package it took was fetched or came from the cache under the default
        // AnemosRehearseMirrorCache, and the fetched ones are there now, byte for byte as apt checked them.
        var mirrorLine = System.Text.RegularExpressions.Regex.Match(result.Output,
            $@"rehearse {Host}: mirror {System.Text.RegularExpressions.Regex.Escape(Mirror.Mirror)}/?: (\d+) package\(s\) from the cache, (\d+) fetched \([0-9.]+ MiB\), (\d+) index file\(s\); cache (\S+)");
        Assert.True(mirrorLine.Success, "no pass-through line in the output:\n" + Why);
        Assert.True(int.Parse(mirrorLine.Groups[1].Value) + int.Parse(mirrorLine.Groups[2].Value) >= 100, mirrorLine.Value);
        Assert.True(int.Parse(mirrorLine.Groups[3].Value) > 0, mirrorLine.Value);
        string cache = mirrorLine.Groups[4].Value;
        Assert.StartsWith(Path.Combine(Home, ".cache", "anemos", "rehearse-mirror") + "/", cache);
        Assert.Contains(Directory.EnumerateFiles(cache, "*.deb", SearchOption.AllDirectories), f => Path.GetFileName(f).StartsWith("nsd_", StringComparison.Ordinal));
        Assert.DoesNotContain("ANEMOS3146", result.Output);
    }

    public static string Sha256Of(string file)
    {
        using var stream = File.OpenRead(file);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    public async Task DisposeAsync()
    {
        await Mirror.DisposeAsync();
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

/// <summary>The rehearsal of samples/dns y (<see cref="DnsHostYVmTests"/>).</summary>
public sealed class RehearsedDnsHostY() : RehearsedDnsHost("y");
