using System.Text.Json;
using Anemos.Tests.Engine;
using Anemos.Tests.Infrastructure;

namespace Anemos.Tests.Vm;

/// <summary>
/// samples/installer and samples/dns as a clone has them, copied under a test's folder for the
/// local signed mirror: its key in keys/ (the bootstrap) and in the image's apt (provision installs
/// the kernel with apt), x's host key a secret under a temporary HOME and pinned as x's HostKey, the
/// operator's key allowed as root on the installed system.
/// </summary>
public sealed class DnsSampleCopy
{
    /// <summary>The pin samples/dns ships for x, replaced by the fingerprint of the test's secret.</summary>
    const string SampleHostKey = "SHA256:Pq7ZbUqJ8lq0u3G4vA3Yp2K2h6m6yq6vO0w2Zr7mX5E";

    public string Root { get; }
    public string Dns => Path.Combine(Root, "dns");
    public string Project => Path.Combine(Dns, "dns.proj");
    public string Home => Path.Combine(Root, "home");
    public string OperatorKey => Path.Combine(Home, "operator");
    /// <summary>x's pinned host key, the fingerprint of its secret.</summary>
    public string Fingerprint { get; }

    /// <param name="operatorKey">The operator's private key (its .pub beside it); a new one when null.</param>
    public DnsSampleCopy(string root, DnsMirrorFixture mirror, string? operatorKey = null)
    {
        Root = root;
        foreach (string name in new[] { "installer", "dns" }) CopyTree(Repository.PathOf("samples", name), Path.Combine(Root, name));
        TestProject.WriteSdkConfiguration(Root);
        Directory.CreateDirectory(Path.Combine(Dns, "keys"));
        File.Copy(mirror.ArchiveKeyring, Path.Combine(Dns, "keys", "archive.gpg"));
        string trusted = Path.Combine(Dns, "files", "etc", "apt", "trusted.gpg.d");
        Directory.CreateDirectory(trusted);
        File.Copy(mirror.ArchiveKeyring, Path.Combine(trusted, "anemos-test-mirror.gpg"));

        // x's secret where dns.proj's AnemosSecret looks for it, under a temporary HOME; its fingerprint pinned as x's HostKey.
        string key = Path.Combine(Home, ".secrets", "dns", "x", "ssh_host_ed25519_key");
        Directory.CreateDirectory(Path.GetDirectoryName(key)!);
        var keygen = ProcessRunner.Run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "ns1", "-f", key);
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
        Assert.Contains(SampleHostKey, xml);
        File.WriteAllText(Project, xml.Replace(SampleHostKey, Fingerprint));
    }

    public Dictionary<string, string?> Environment()
    {
        var environment = SdkFeed.DotnetEnvironment(SdkFeed.PackagesDirectory);
        environment["ANEMOS_INSTALLER_PACKAGES"] = Repository.InstallerPackages;
        return environment;
    }

    /// <summary>Adds MSBuild text (items, property groups) at the end of dns.proj.</summary>
    public void AppendToProject(string text) =>
        File.WriteAllText(Project, File.ReadAllText(Project).Replace("</Project>", text + "\n</Project>"));

    /// <summary>
    /// x deployed to <paramref name="vm"/>: reached through the VM's hostfwd with an ssh config of
    /// the test's own, its mirror the guestfwd in x's subnet, operator locks in the test's folder.
    /// </summary>
    public void TargetVm(InstalledHostVm vm, string directory)
    {
        string sshConfig = Path.Combine(directory, "ssh_config");
        File.WriteAllText(sshConfig, $"Host *\n  UserKnownHostsFile {Path.Combine(directory, "known_hosts")}\n  GlobalKnownHostsFile /dev/null\n");
        string xml = File.ReadAllText(Project);
        Assert.Contains("Address=\"ns1.example.org\"", xml);
        File.WriteAllText(Project, xml.Replace("Address=\"ns1.example.org\"", $"Address=\"127.0.0.1\" Port=\"{vm.Port}\" MIRROR=\"{InstalledHostVm.GuestMirror}\""));
        AppendToProject($"""
              <PropertyGroup>
                <AnemosSshConfigFile>{sshConfig}</AnemosSshConfigFile>
                <AnemosDeployLockDirectory>{Path.Combine(directory, "locks")}</AnemosDeployLockDirectory>
                <AnemosDeployTimeout>3000</AnemosDeployTimeout>
              </PropertyGroup>
            """);
    }

    /// <summary>`dotnet publish -p:Host=x` of the copy, with the test's HOME and the operator's key.</summary>
    public ProcessResult Publish(params string[] arguments) =>
        ProcessRunner.Run("dotnet",
            ["publish", Project, "-nologo", "-nodeReuse:false", "-v:n", "-p:Host=x", $"-p:HOME={Home}", $"-p:AnemosSshIdentityFile={OperatorKey}", .. arguments],
            Dns, Environment(), TimeSpan.FromMinutes(60));

    /// <summary>A 64 MiB disk that holds data (an ext4 file system with a file in it) an install must not touch; its sha256.</summary>
    public static string MakeDataDisk(string path)
    {
        string keep = path + ".keep";
        var made = ProcessRunner.Shell($"truncate -s 64M '{path}' && mkfs.ext4 -q -F -L data '{path}' && echo 'keep me' >'{keep}' && debugfs -w -R 'write {keep} keep' '{path}' && rm '{keep}'");
        Assert.True(made.ExitCode == 0, made.ToString());
        return RehearsedDnsHost.Sha256Of(path);
    }

    /// <summary>The payload sha256 of x's manifest (bin/anemos/hosts/x/manifest.json), as the last build made it.</summary>
    public string Payload() => JsonDocument.Parse(File.ReadAllText(Path.Combine(Dns, "bin", "anemos", "hosts", "x", "manifest.json"))).RootElement
        .GetProperty("payload").GetProperty("sha256").GetString()!;

    /// <summary>x's deploy.json (obj/anemos/hosts/x/deploy.json) of the last publish.</summary>
    public JsonElement DeployReport() => JsonDocument.Parse(File.ReadAllText(Path.Combine(Dns, "obj", "anemos", "hosts", "x", "deploy.json"))).RootElement;

    /// <summary>The zone file of the copy (files/etc/nsd/zones/example.org.zone).</summary>
    public string Zone => Path.Combine(Dns, "files", "etc", "nsd", "zones", "example.org.zone");

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
}
