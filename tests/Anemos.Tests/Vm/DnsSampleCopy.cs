using System.Text.Json;
using Anemos.Tests.Engine;
using Anemos.Tests.Infrastructure;

namespace Anemos.Tests.Vm;

/// <summary>
/// samples/installer and samples/dns as a clone has them, copied under a test's folder for the
/// local signed mirror: its key in keys/ (the bootstrap) and in the image's apt (provision installs
/// the kernel with apt), the host's (x's or y's) host key a secret under a temporary HOME and pinned
/// as its HostKey, the operator's key allowed as root on the installed system and in the deploy
/// environment (dns.proj's AuthorizedKeys is files/root/.ssh/authorized_keys).
/// </summary>
public sealed class DnsSampleCopy
{
    /// <summary>The pins and addresses samples/dns ships, replaced by the fingerprint of the test's secret and the VM's forward.</summary>
    static readonly Dictionary<string, (string HostKey, string Address)> Sample = new()
    {
        ["x"] = ("SHA256:Pq7ZbUqJ8lq0u3G4vA3Yp2K2h6m6yq6vO0w2Zr7mX5E", "ns1.example.org"),
        ["y"] = ("SHA256:c3TQ0m1b9hN0sX8yF3rLwq3Jw1kq0G8m8Gm5nQv2V1A", "ns2.example.org"),
    };

    /// <summary>The host this copy installs and deploys: x or y.</summary>
    public string Host { get; }
    public string Root { get; }
    public string Dns => Path.Combine(Root, "dns");
    public string Project => Path.Combine(Dns, "dns.proj");
    public string Home => Path.Combine(Root, "home");
    public string OperatorKey => Path.Combine(Home, "operator");
    /// <summary>The host's pinned host key, the fingerprint of its secret.</summary>
    public string Fingerprint { get; }

    /// <param name="operatorKey">The operator's private key (its .pub beside it); a new one when null.</param>
    public DnsSampleCopy(string root, DnsMirrorFixture mirror, string? operatorKey = null, string host = "x")
    {
        Host = host;
        Root = root;
        foreach (string name in new[] { "installer", "dns" }) CopyTree(Repository.PathOf("samples", name), Path.Combine(Root, name));
        TestProject.WriteSdkConfiguration(Root);
        Directory.CreateDirectory(Path.Combine(Dns, "keys"));
        File.Copy(mirror.ArchiveKeyring, Path.Combine(Dns, "keys", "archive.gpg"));
        string trusted = Path.Combine(Dns, "files", "etc", "apt", "trusted.gpg.d");
        Directory.CreateDirectory(trusted);
        File.Copy(mirror.ArchiveKeyring, Path.Combine(trusted, "anemos-test-mirror.gpg"));

        // The host's secret where dns.proj's AnemosSecret looks for it, under a temporary HOME; its fingerprint pinned as its HostKey.
        string key = Path.Combine(Home, ".secrets", "dns", host, "ssh_host_ed25519_key");
        Directory.CreateDirectory(Path.GetDirectoryName(key)!);
        var keygen = ProcessRunner.Run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", Sample[host].Address, "-f", key);
        Assert.True(keygen.ExitCode == 0, keygen.ToString());
        Fingerprint = ProcessRunner.Run("ssh-keygen", "-lf", key + ".pub").StandardOutput.Split(' ')[1];
        if (operatorKey is null)
        {
            keygen = ProcessRunner.Run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "operator", "-f", OperatorKey);
            Assert.True(keygen.ExitCode == 0, keygen.ToString());
        }
        else
        {
            File.Copy(operatorKey, OperatorKey);
            File.Copy(operatorKey + ".pub", OperatorKey + ".pub");
            File.SetUnixFileMode(OperatorKey, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        File.AppendAllText(Path.Combine(Dns, "files", "root", ".ssh", "authorized_keys"), File.ReadAllText(OperatorKey + ".pub"));
        string xml = File.ReadAllText(Project);
        Assert.Contains(Sample[host].HostKey, xml);
        File.WriteAllText(Project, xml.Replace(Sample[host].HostKey, Fingerprint));
    }

    /// <param name="packages">The NuGet package folder the copy's builds restore into: the test run's shared one by default.</param>
    public Dictionary<string, string?> Environment(string? packages = null)
    {
        var environment = SdkFeed.DotnetEnvironment(packages ?? SdkFeed.PackagesDirectory);
        environment["ANEMOS_INSTALLER_PACKAGES"] = Repository.InstallerPackages;
        return environment;
    }

    /// <summary>Adds MSBuild text (items, property groups) at the end of dns.proj.</summary>
    public void AppendToProject(string text) =>
        File.WriteAllText(Project, File.ReadAllText(Project).Replace("</Project>", text + "\n</Project>"));

    /// <summary>
    /// The host deployed to <paramref name="vm"/>: reached through the VM's hostfwd with an ssh config
    /// of the test's own, its mirror the guestfwd in the host's subnet, operator locks in the test's folder.
    /// </summary>
    public void TargetVm(InstalledHostVm vm, string directory)
    {
        string sshConfig = Path.Combine(directory, "ssh_config");
        File.WriteAllText(sshConfig, $"Host *\n  UserKnownHostsFile {Path.Combine(directory, "known_hosts")}\n  GlobalKnownHostsFile /dev/null\n");
        string xml = File.ReadAllText(Project), address = $"Address=\"{Sample[Host].Address}\"";
        Assert.Contains(address, xml);
        File.WriteAllText(Project, xml.Replace(address, $"Address=\"127.0.0.1\" Port=\"{vm.Port}\" MIRROR=\"{vm.GuestMirror}\""));
        AppendToProject($"""
              <PropertyGroup>
                <AnemosSshConfigFile>{sshConfig}</AnemosSshConfigFile>
                <AnemosDeployLockDirectory>{Path.Combine(directory, "locks")}</AnemosDeployLockDirectory>
                <AnemosDeployTimeout>3000</AnemosDeployTimeout>
              </PropertyGroup>
            """);
    }

    /// <summary>`dotnet publish -p:Host=HOST` of the copy, with the test's HOME and the operator's key.</summary>
    public ProcessResult Publish(params string[] arguments) =>
        ProcessRunner.Run("dotnet",
            ["publish", Project, "-nologo", "-nodeReuse:false", "-v:n", $"-p:Host={Host}", $"-p:HOME={Home}", $"-p:AnemosSshIdentityFile={OperatorKey}", .. arguments],
            Dns, Environment(), TimeSpan.FromMinutes(60));

    /// <summary>A 64 MiB disk that holds data (an ext4 file system labelled <paramref name="label"/> with a file in it) an install must not touch; its sha256.</summary>
    public static string MakeDataDisk(string path, string label = "data")
    {
        string keep = path + ".keep";
        var made = ProcessRunner.Shell($"truncate -s 64M '{path}' && mkfs.ext4 -q -F -L {label} '{path}' && echo 'keep me' >'{keep}' && debugfs -w -R 'write {keep} keep' '{path}' && rm '{keep}'");
        Assert.True(made.ExitCode == 0, made.ToString());
        return RehearsedDnsHost.Sha256Of(path);
    }

    /// <summary>The payload sha256 of the host's manifest (bin/anemos/hosts/HOST/manifest.json), as the last build made it.</summary>
    public string Payload() => JsonDocument.Parse(File.ReadAllText(Path.Combine(Dns, "bin", "anemos", "hosts", Host, "manifest.json"))).RootElement
        .GetProperty("payload").GetProperty("sha256").GetString()!;

    /// <summary>The host's deploy.json (obj/anemos/hosts/HOST/deploy.json) of the last publish.</summary>
    public JsonElement DeployReport() => JsonDocument.Parse(File.ReadAllText(Path.Combine(Dns, "obj", "anemos", "hosts", Host, "deploy.json"))).RootElement;

    /// <summary>The zone file of the copy (files/etc/nsd/zones/example.org.zone).</summary>
    public string Zone => Path.Combine(Dns, "files", "etc", "nsd", "zones", "example.org.zone");

    /// <summary>A sample's folder as a clone has it: without bin/, obj/ and .deps/ (the installer's packages, ANEMOS_INSTALLER_PACKAGES).</summary>
    internal static void CopyTree(string source, string destination)
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
}
