using System.Diagnostics;
using System.Text.RegularExpressions;
using Anemos.Tests.Engine;
using Anemos.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Anemos.Tests.Vm;

/// <summary>
/// samples/bitfehler-net's whole rehearsal on a UEFI machine (issue 26): a copy of samples/installer
/// and samples/bitfehler-net as a clone has them, its host variable MIRROR naming the Arch-layout
/// mirror of <see cref="ArchBootableRepositoryFixture"/> on 127.0.0.1 (Debian 12's binaries
/// repackaged by makepkg under Arch's names, signed by a packager key only that mirror's newer
/// archlinux-keyring makes valid), then `dotnet build -t:Rehearse` under OVMF (QEMU, TCG). The engine
/// refreshes the pacman keyring from the mirror, pacstrap installs every package of the sample's
/// list, provision() puts GRUB at the ESP's removable path, and the install disk alone boots through
/// OVMF to a login, answers ssh with the host's own key (its secret) and passes its health check
/// (sshd and nginx active); the /home disk is byte-identical. What the test adds to the copy, as an
/// operator would: the secrets (ssh host keys under HOME, the TLS key through a `pass` on PATH), the
/// operator's key in files/root/.ssh/authorized_keys, the HostKey pin, MIRROR, the packager key in
/// keys/ and the two disks. UEFI here, so that the first install from the stock Debian (issue 26
/// point 2, not yet a test) can prove the sample under SeaBIOS.
/// </summary>
[LongRunning(20)] // a whole Arch install under TCG through OVMF, and the firmware boot
[EndToEnd(Needs.Qemu)]
public sealed class BitfehlerNetRehearsalVmTests(ArchBootableRepositoryFixture repository, ITestOutputHelper output)
    : IClassFixture<ArchBootableRepositoryFixture>, IDisposable
{
    const string Host = "bitfehler-net";
    /// <summary>The pin samples/bitfehler-net ships, replaced by the fingerprint of the test's secret.</summary>
    const string SampleHostKey = "SHA256:n0Zr4dLq2y7hVZ0c3o0yq5l8t1YbG9kQmUu6x2pW3sA";

    readonly string _root = TestProject.NewDirectory();

    [Fact]
    public async Task BitfehlerNetInstallsFromItsMirrorAndBootsThroughOvmfToSshAndNginx()
    {
        Directory.CreateDirectory(_root);
        foreach (string name in new[] { "installer", "bitfehler-net" }) DnsSampleCopy.CopyTree(Repository.PathOf("samples", name), Path.Combine(_root, name));
        TestProject.WriteSdkConfiguration(_root);
        string project = Path.Combine(_root, "bitfehler-net");
        string projectFile = Path.Combine(project, "bitfehler-net.proj");
        // Beside the project, not in it: every file in the project folder is payload.
        string home = Path.Combine(_root, "home");
        string fingerprint = MakeSecrets(home);
        string operatorKey = Path.Combine(home, "operator");
        Run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "operator", "-f", operatorKey);
        File.AppendAllText(Path.Combine(project, "files", "root", ".ssh", "authorized_keys"), File.ReadAllText(operatorKey + ".pub"));
        Directory.CreateDirectory(Path.Combine(project, "keys"));
        File.Copy(repository.PackagerKeyring, Path.Combine(project, "keys", "packager.gpg"));
        string homeDisk = Path.Combine(_root, "home.img");
        string homeBefore = DnsSampleCopy.MakeDataDisk(homeDisk, label: "home");

        await using var mirror = new LoopbackHttpFolder(repository.ArchLayoutMirror);
        await mirror.StartAsync();
        string upstream = new Uri(mirror.BaseAddress, "$repo/os/$arch").OriginalString;
        string xml = File.ReadAllText(projectFile);
        Assert.Contains(SampleHostKey, xml);
        const string lastMetadata = "AuthorizedKeys=\"files/root/.ssh/authorized_keys\" />";
        Assert.Contains(lastMetadata, xml);
        File.WriteAllText(projectFile, xml.Replace(SampleHostKey, fingerprint)
            .Replace(lastMetadata, lastMetadata.Replace(" />", $" MIRROR=\"{upstream}\" />"))
            .Replace("</Project>", """
                  <ItemGroup>
                    <AnemosRehearseDisk Include="disk0" Size="8G" />
                    <AnemosRehearseDisk Include="home" Size="64M" Source="../home.img" />
                  </ItemGroup>
                </Project>
                """));

        var clock = Stopwatch.StartNew();
        var rehearsal = ProcessRunner.Run("dotnet",
            ["build", projectFile, "-nologo", "-nodeReuse:false", "-t:Rehearse", $"-p:Host={Host}", "-p:AnemosRehearseAccelerator=tcg", "-p:AnemosRehearseFirmware=uefi",
             $"-p:HOME={home}", $"-p:AnemosSshIdentityFile={operatorKey}", "-p:AnemosRehearseTimeout=2700", "-p:AnemosRehearseBootTimeout=600",
             // The home disk's copy is judged after the rehearsal: kept (ANEMOS3130), deleted with the test's folder.
             "-p:AnemosRehearseKeepDisks=true"],
            project, Environment(), TimeSpan.FromMinutes(55));
        output.WriteLine($"rehearsal of {Host} (UEFI, 512 MiB, TCG): {clock.Elapsed.TotalSeconds:0} s, the build included; repository {repository.MirrorBytes >> 20} MiB, made in {repository.BuildTime.TotalSeconds:0} s");
        foreach (string line in rehearsal.Output.Split('\n').Where(l => l.Contains($"rehearse {Host}:"))) output.WriteLine(line.Trim());
        string? steps = EngineSteps.Summary(rehearsal.Output);
        if (steps is not null) output.WriteLine(steps);

        string work = Path.Combine(project, "obj", "anemos", "rehearse", Host);
        string Tail(string file) => File.Exists(Path.Combine(work, file)) ? string.Join('\n', File.ReadAllLines(Path.Combine(work, file)).TakeLast(40)) : "(no " + file + ")";
        string why = $"{rehearsal}\n---- install console tail ----\n{Tail("console.log")}\n---- boot console tail ----\n{Tail("boot-console.log")}";
        Assert.True(rehearsal.ExitCode == 0, why);
        string result = rehearsal.Output;
        Assert.Contains($"rehearse {Host}: QEMU (tcg, UEFI (OVMF), 512 MiB, 2 disk(s), mirror {upstream} as http://10.0.2.100/$repo/os/$arch through a caching pass-through)", result);
        // The keyring the engine made, brought up to date by the mirror's newer archlinux-keyring, which alone makes the packages' key valid.
        Assert.Contains($"makeimg[bootstrap]: keyring: brought up to date from the repositories' archlinux-keyring-{ArchRepositoryFixture.KeyringVersion}", result);
        // pacstrap installed every package the sample names, from that mirror.
        foreach (string package in ArchBootableRepositoryFixture.SamplePackages())
            Assert.Matches($@"installing {Regex.Escape(package)}(\.\.\.|\s)", result);
        Assert.Contains("Installing for x86_64-efi platform.", result);
        Assert.Contains($"ANEMOS-RESULT ok host={Host}", result);
        // The guest's own words: OVMF booted the disk alone (EFI/BOOT/BOOTX64.EFI) to the sample's
        // hostname at the login prompt on the serial console provision() set up; sshd answered with
        // the host's own key; the sample's HealthCheck (sshd and nginx active) passed as root over ssh.
        Assert.Matches(@"(?m)^bitfehler(\.net)? login:", File.ReadAllText(Path.Combine(work, "boot-console.log")));
        Assert.Contains($"healthy: sshd answers with {Host}'s own host key {fingerprint}", result);
        Assert.Matches(@"health check passed after \d", result);
        Assert.Contains("1 other disk(s) unchanged", result);
        Assert.Equal(homeBefore, RehearsedDnsHost.Sha256Of(Path.Combine(work, "home.img")));
        var mirrorLine = Regex.Match(result, $@"rehearse {Host}: mirror \S+: (\d+) package\(s\) from the cache, (\d+) fetched");
        Assert.True(mirrorLine.Success && int.Parse(mirrorLine.Groups[1].Value) + int.Parse(mirrorLine.Groups[2].Value) >= 150, "the VM took fewer packages than the sample's closure:\n" + why);
    }

    /// <summary>The host's secrets where bitfehler-net.proj's AnemosSecret items look for them; the ed25519 key's fingerprint.</summary>
    string MakeSecrets(string home)
    {
        string secrets = Path.Combine(home, ".secrets", Host);
        Directory.CreateDirectory(secrets);
        Run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "bitfehler.net", "-f", Path.Combine(secrets, "ssh_host_ed25519_key"));
        Run("ssh-keygen", "-q", "-t", "rsa", "-N", "", "-C", "bitfehler.net", "-f", Path.Combine(secrets, "ssh_host_rsa_key"));
        // The TLS key comes from `pass show bitfehler.net/tls-key`: a pass of the test's, first on PATH, prints a key made here.
        string tls = Path.Combine(_root, "tls-key.pem");
        Run("ssh-keygen", "-q", "-t", "ecdsa", "-m", "PEM", "-N", "", "-f", tls);
        string bin = Path.Combine(_root, "bin");
        Directory.CreateDirectory(bin);
        File.WriteAllText(Path.Combine(bin, "pass"), $"#!/bin/sh\n[ \"$*\" = 'show bitfehler.net/tls-key' ] || exit 1\nexec cat '{tls}'\n");
        File.SetUnixFileMode(Path.Combine(bin, "pass"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return ProcessRunner.Run("ssh-keygen", "-lf", Path.Combine(secrets, "ssh_host_ed25519_key.pub")).StandardOutput.Split(' ')[1];
    }

    /// <summary>The packed SDK with a package folder and TMPDIR of the test's own (as RehearsedDnsHost's), the installer's packages, the test's pass first on PATH.</summary>
    Dictionary<string, string?> Environment()
    {
        var environment = SdkFeed.DotnetEnvironment(Path.Combine(_root, "packages"));
        environment["ANEMOS_INSTALLER_PACKAGES"] = Repository.InstallerPackages;
        string temporary = Path.Combine(_root, "tmp");
        Directory.CreateDirectory(temporary);
        environment["TMPDIR"] = temporary;
        environment["PATH"] = Path.Combine(_root, "bin") + ":" + System.Environment.GetEnvironmentVariable("PATH");
        return environment;
    }

    static void Run(string command, params string[] arguments)
    {
        var result = ProcessRunner.Run(command, arguments);
        Assert.True(result.ExitCode == 0, result.ToString());
    }

    public void Dispose()
    {
        // The disks hold the host's secrets (its ssh host keys, the TLS key).
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
