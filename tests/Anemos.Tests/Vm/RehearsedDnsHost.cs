using System.Diagnostics;
using System.Security.Cryptography;
using Anemos.Tests.Engine;
using Anemos.Tests.Infrastructure;

namespace Anemos.Tests.Vm;

/// <summary>
/// One rehearsal of samples/dns x, shared by the tests that start from its result: a copy of
/// samples/installer and samples/dns whose IMGBUILD installs from the local signed mirror (its key
/// in keys/ and in the image's apt), x's host key a secret under a temporary HOME and pinned as
/// x's HostKey, the operator's key allowed as root, an install disk and a data disk. The rehearsal
/// runs once; its output, console logs and disks stay for the tests to judge and to boot again.
/// </summary>
public sealed class RehearsedDnsHost : IAsyncLifetime
{
    public DnsMirrorFixture Mirror { get; } = new();
    public string Root { get; } = TestProject.NewDirectory();
    public string Dns => Path.Combine(Root, "dns");
    public string Project => Path.Combine(Dns, "dns.proj");
    public string Home => Path.Combine(Root, "home");
    public string OperatorKey => Path.Combine(Home, "operator");
    /// <summary>x's pinned host key, the fingerprint of its secret.</summary>
    public string Fingerprint { get; private set; } = "";
    /// <summary>The data disk's sha256 before the rehearsal, and of the rehearsal's copy afterwards.</summary>
    public string DataSha256 { get; private set; } = "";
    public string DataSha256After { get; private set; } = "";
    public string Memory { get; } = System.Environment.GetEnvironmentVariable("ANEMOS_REHEARSE_MEMORY") is { Length: > 0 } m ? m : "512";
    public ProcessResult? Result { get; private set; }
    public TimeSpan Elapsed { get; private set; }
    /// <summary>Rehearsal folders in the temporary folder that were not there before it.</summary>
    public IReadOnlyList<string> TemporaryLeftOver { get; private set; } = [];
    /// <summary>obj/anemos/rehearse/x: console.log, boot-console.log, disk0.img (the installed system), data.img.</summary>
    public string WorkDirectory => Path.Combine(Dns, "obj", "anemos", "rehearse", "x");
    public string InstalledDisk => Path.Combine(WorkDirectory, "disk0.img");
    public string DataDisk => Path.Combine(WorkDirectory, "data.img");
    public bool Succeeded => Result is { ExitCode: 0 } r && r.Output.Contains("ANEMOS-RESULT ok host=x", StringComparison.Ordinal);

    public Dictionary<string, string?> Environment()
    {
        var environment = SdkFeed.DotnetEnvironment(SdkFeed.PackagesDirectory);
        environment["ANEMOS_INSTALLER_PACKAGES"] = Repository.InstallerPackages;
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

    static void CopyTree(string source, string destination)
    {
        Directory.CreateDirectory(destination);
        foreach (var entry in new DirectoryInfo(source).EnumerateFileSystemInfos())
        {
            if (entry.Name is "bin" or "obj" or ".deps") continue;
            string target = Path.Combine(destination, entry.Name);
            if (entry is DirectoryInfo) CopyTree(entry.FullName, target);
            else File.Copy(entry.FullName, target);
        }
    }

    void Rehearse()
    {
        // samples/installer and samples/dns as a clone has them; the mirror's throwaway key in keys/.
        foreach (string name in new[] { "installer", "dns" }) CopyTree(Repository.PathOf("samples", name), Path.Combine(Root, name));
        TestProject.WriteSdkConfiguration(Root);
        Directory.CreateDirectory(Path.Combine(Dns, "keys"));
        File.Copy(Mirror.ArchiveKeyring, Path.Combine(Dns, "keys", "archive.gpg"));
        // provision() installs the kernel with apt from the same mirror: the image's apt trusts its key too.
        string trusted = Path.Combine(Dns, "files", "etc", "apt", "trusted.gpg.d");
        Directory.CreateDirectory(trusted);
        File.Copy(Mirror.ArchiveKeyring, Path.Combine(trusted, "anemos-test-mirror.gpg"));

        // x's secret where dns.proj's AnemosSecret looks for it, under a temporary HOME; its fingerprint pinned as x's HostKey.
        string key = Path.Combine(Home, ".secrets", "dns", "x", "ssh_host_ed25519_key");
        Directory.CreateDirectory(Path.GetDirectoryName(key)!);
        var keygen = ProcessRunner.Run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "ns1", "-f", key);
        Assert.True(keygen.ExitCode == 0, keygen.ToString());
        Fingerprint = ProcessRunner.Run("ssh-keygen", "-lf", key + ".pub").StandardOutput.Split(' ')[1];
        // The operator's key, allowed as root on the installed system: the rehearsal logs in with it for the health check.
        keygen = ProcessRunner.Run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "operator", "-f", OperatorKey);
        Assert.True(keygen.ExitCode == 0, keygen.ToString());
        File.AppendAllText(Path.Combine(Dns, "files", "root", ".ssh", "authorized_keys"), File.ReadAllText(OperatorKey + ".pub"));
        string xml = File.ReadAllText(Project);
        Assert.Contains("SHA256:Pq7ZbUqJ8lq0u3G4vA3Yp2K2h6m6yq6vO0w2Zr7mX5E", xml);
        File.WriteAllText(Project, xml.Replace("SHA256:Pq7ZbUqJ8lq0u3G4vA3Yp2K2h6m6yq6vO0w2Zr7mX5E", Fingerprint).Replace("</Project>", """
              <ItemGroup>
                <AnemosRehearseDisk Include="disk0" Size="8G" />
                <AnemosRehearseDisk Include="data" Size="64M" Source="data.img" />
              </ItemGroup>
            </Project>
            """));
        // The second disk holds data (an ext4 file system with a file in it) that the install must not touch.
        string data = Path.Combine(Dns, "data.img");
        var made = ProcessRunner.Shell($"truncate -s 64M '{data}' && mkfs.ext4 -q -F -L data '{data}' && echo 'keep me' >'{Root}/keep' && debugfs -w -R 'write {Root}/keep keep' '{data}'");
        Assert.True(made.ExitCode == 0, made.ToString());
        DataSha256 = Sha256Of(data);
        var temporaryBefore = Directory.GetDirectories(Path.GetTempPath(), "anemos-rehearse-*").ToHashSet();

        // bench/rehearse-dns.sh measures smaller memories with the same test; 512 MiB otherwise (docs/rehearse.md).
        var clock = Stopwatch.StartNew();
        Result = ProcessRunner.Run("dotnet",
            ["build", Project, "-nologo", "-nodeReuse:false", "-t:Rehearse", "-p:Host=x", "-p:AnemosRehearseAccelerator=tcg", $"-p:AnemosRehearseMemory={Memory}",
             $"-p:AnemosRehearseMirror={Mirror.Mirror}", $"-p:HOME={Home}", $"-p:AnemosSshIdentityFile={OperatorKey}", "-p:AnemosRehearseTimeout=2700", "-p:AnemosRehearseBootTimeout=600"],
            Dns, Environment(), TimeSpan.FromMinutes(55));
        Elapsed = clock.Elapsed;
        if (File.Exists(DataDisk)) DataSha256After = Sha256Of(DataDisk);
        TemporaryLeftOver = Directory.GetDirectories(Path.GetTempPath(), "anemos-rehearse-*").Where(d => !temporaryBefore.Contains(d)).ToList();
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
