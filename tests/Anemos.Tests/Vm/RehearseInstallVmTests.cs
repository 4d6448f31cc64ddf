using System.Diagnostics;
using System.Security.Cryptography;
using Anemos.Tests.Engine;
using Anemos.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Anemos.Tests.Vm;

/// <summary>
/// The whole install, rehearsed: `dotnet build -t:Rehearse -p:Host=x` on a copy of samples/dns
/// boots x's very kernel and initramfs (the installer base) in QEMU under TCG with an install disk
/// and a data disk, the engine installs Debian 12 from a local signed mirror on 127.0.0.1 (reached
/// through QEMU's guestfwd), then the install disk alone boots with SeaBIOS: the console reaches
/// login, sshd answers through a hostfwd with x's own host key (its secret, under a temporary HOME),
/// and the data disk is byte-identical. Verdicts come from what the guest wrote and answered.
/// </summary>
public sealed class RehearseInstallVmTests(DnsMirrorFixture mirror, ITestOutputHelper output) : IClassFixture<DnsMirrorFixture>, IDisposable
{
    readonly string _root = TestProject.NewDirectory();

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
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

    [Fact]
    public void DnsHostXInstallsBootsFromItsDiskAndAnswersWithItsOwnHostKey()
    {
        // samples/installer and samples/dns as a clone has them; the mirror's throwaway key in keys/.
        foreach (string name in new[] { "installer", "dns" }) CopyTree(Repository.PathOf("samples", name), Path.Combine(_root, name));
        TestProject.WriteSdkConfiguration(_root);
        string dns = Path.Combine(_root, "dns");
        Directory.CreateDirectory(Path.Combine(dns, "keys"));
        File.Copy(mirror.ArchiveKeyring, Path.Combine(dns, "keys", "archive.gpg"));
        // provision() installs the kernel with apt from the same mirror: the image's apt trusts its key too.
        string trusted = Path.Combine(dns, "files", "etc", "apt", "trusted.gpg.d");
        Directory.CreateDirectory(trusted);
        File.Copy(mirror.ArchiveKeyring, Path.Combine(trusted, "anemos-test-mirror.gpg"));

        // x's secret where dns.proj's AnemosSecret looks for it, under a temporary HOME; its fingerprint pinned as x's HostKey.
        string home = Path.Combine(_root, "home");
        string key = Path.Combine(home, ".secrets", "dns", "x", "ssh_host_ed25519_key");
        Directory.CreateDirectory(Path.GetDirectoryName(key)!);
        var keygen = ProcessRunner.Run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "ns1", "-f", key);
        Assert.True(keygen.ExitCode == 0, keygen.ToString());
        string fingerprint = ProcessRunner.Run("ssh-keygen", "-lf", key + ".pub").StandardOutput.Split(' ')[1];
        // The operator's key, allowed as root on the installed system: the rehearsal logs in with it for the health check.
        string operatorKey = Path.Combine(home, "operator");
        keygen = ProcessRunner.Run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "operator", "-f", operatorKey);
        Assert.True(keygen.ExitCode == 0, keygen.ToString());
        File.AppendAllText(Path.Combine(dns, "files", "root", ".ssh", "authorized_keys"), File.ReadAllText(operatorKey + ".pub"));
        string project = Path.Combine(dns, "dns.proj");
        string xml = File.ReadAllText(project);
        Assert.Contains("SHA256:Pq7ZbUqJ8lq0u3G4vA3Yp2K2h6m6yq6vO0w2Zr7mX5E", xml);
        File.WriteAllText(project, xml.Replace("SHA256:Pq7ZbUqJ8lq0u3G4vA3Yp2K2h6m6yq6vO0w2Zr7mX5E", fingerprint).Replace("</Project>", """
              <ItemGroup>
                <AnemosRehearseDisk Include="disk0" Size="8G" />
                <AnemosRehearseDisk Include="data" Size="64M" Source="data.img" />
              </ItemGroup>
            </Project>
            """));
        // The second disk holds data (an ext4 file system with a file in it) that the install must not touch.
        string data = Path.Combine(dns, "data.img");
        var made = ProcessRunner.Shell($"truncate -s 64M '{data}' && mkfs.ext4 -q -F -L data '{data}' && echo 'keep me' >'{_root}/keep' && debugfs -w -R 'write {_root}/keep keep' '{data}'");
        Assert.True(made.ExitCode == 0, made.ToString());
        string dataSha = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(data)));
        var temporaryBefore = Directory.GetDirectories(Path.GetTempPath(), "anemos-rehearse-*").ToHashSet();

        var environment = SdkFeed.DotnetEnvironment(SdkFeed.PackagesDirectory);
        environment["ANEMOS_INSTALLER_PACKAGES"] = Repository.InstallerPackages;
        // bench/rehearse-dns.sh measures smaller memories with the same test; 512 MiB otherwise (docs/rehearse.md).
        string memory = System.Environment.GetEnvironmentVariable("ANEMOS_REHEARSE_MEMORY") is { Length: > 0 } m ? m : "512";
        var clock = Stopwatch.StartNew();
        var result = ProcessRunner.Run("dotnet",
            ["build", project, "-nologo", "-nodeReuse:false", "-t:Rehearse", "-p:Host=x", "-p:AnemosRehearseAccelerator=tcg", $"-p:AnemosRehearseMemory={memory}",
             $"-p:AnemosRehearseMirror={mirror.Mirror}", $"-p:HOME={home}", $"-p:AnemosSshIdentityFile={operatorKey}", "-p:AnemosRehearseTimeout=2700", "-p:AnemosRehearseBootTimeout=600"],
            dns, environment, TimeSpan.FromMinutes(55));
        output.WriteLine($"rehearsal of x ({memory} MiB, TCG): {clock.Elapsed.TotalSeconds:0} s, the build included");
        string console = Path.Combine(dns, "obj", "anemos", "rehearse", "x");
        string Tail(string file) => File.Exists(Path.Combine(console, file))
            ? string.Join('\n', File.ReadAllLines(Path.Combine(console, file)).TakeLast(40)) : "(no " + file + ")";
        string why = $"{result}\n---- install console tail ----\n{Tail("console.log")}\n---- boot console tail ----\n{Tail("boot-console.log")}";
        foreach (string line in result.Output.Split('\n').Where(l => l.Contains("rehearse x:"))) output.WriteLine(line.Trim());

        Assert.True(result.ExitCode == 0, why);
        Assert.Contains("ANEMOS-RESULT ok host=x", result.Output);
        Assert.Contains("makeimg[provision]", result.Output);
        // The guest's own words: the login prompt of the installed system, on its serial console.
        Assert.Matches(@"(?m)^x login:", File.ReadAllText(Path.Combine(console, "boot-console.log")));
        Assert.Contains($"healthy: sshd answers with x's own host key {fingerprint}", result.Output);
        // dns.proj's AnemosHealthCheck (NSD active and serving example.org), run as root over ssh on the installed system.
        Assert.Matches(@"health check passed after \d", result.Output);
        Assert.Contains("1 other disk(s) unchanged", result.Output);
        Assert.Equal(dataSha, Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(Path.Combine(console, "data.img")))));
        // The secrets segment lived in a temporary folder that is gone.
        Assert.DoesNotContain(Directory.GetDirectories(Path.GetTempPath(), "anemos-rehearse-*"), d => !temporaryBefore.Contains(d));
        Assert.False(File.Exists(Path.Combine(console, "initramfs.img")), "an initramfs with secrets must not stay in obj/");
    }
}
