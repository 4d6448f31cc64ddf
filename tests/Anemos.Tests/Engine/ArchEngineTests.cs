using Anemos.Tests.Infrastructure;

namespace Anemos.Tests.Engine;

/// <summary>
/// makeimg with target=arch: pacstrap from a local signed pacman repository (pacman.conf and keys/
/// next to the IMGBUILD), as dir, tar and raw images; the signature checks (a key outside the
/// keyring, no signature, a pacman.conf that weakens them, no keyring); and the failures of the
/// later steps (a bootstrap with the Arch fixture takes a few seconds, most of it the keyring).
/// </summary>
[EndToEnd(Needs.Bootstrap)]
public sealed class ArchEngineTests(ArchRepositoryFixture fixture) : IClassFixture<ArchRepositoryFixture>
{
    const string Patch = """
        --- a/etc/anemos-hello.conf
        +++ b/etc/anemos-hello.conf
        @@ -1,3 +1,3 @@
         greeting=hello
        -color=blue
        +color=green
         size=3

        """;

    const string Patched = "greeting=hello\ncolor=green\nsize=3\n";

    static string Imgbuild(string format, string extra = "") => $"""
        imgname=archtest
        target=arch
        format="{format}"
        hostconf="hostname=archbox timezone=Europe/Berlin keymap=de"
        packages="
        {ArchRepositoryFixture.Package}
        "
        {extra}
        {EngineInputs.Provision}
        """;

    string Project(string name, string format, string extra = "")
    {
        string folder = fixture.NewProject(name, Imgbuild(format, extra));
        EngineInputs.Write(folder, "etc/anemos-hello.conf", Patch);
        return folder;
    }

    [Theory]
    [InlineData("sh")]
    [InlineData("busybox")]
    public void ADirBuildHasThePackageTheInputsAndWhatProvisionWrote(string shell)
    {
        string folder = Project("dir-" + shell, "dir");
        string stepFile = Path.Combine(folder, "step");
        var result = shell == "busybox"
            ? Makeimg.RunWithBusybox(folder, EngineInputs.Environment(folder), "--step-file", stepFile)
            : Makeimg.Run(folder, EngineInputs.Environment(folder), "--step-file", stepFile);
        Makeimg.AssertSucceeded(result);
        Makeimg.AssertLogLines(result);
        Assert.Equal("finish\n", File.ReadAllText(stepFile));
        Assert.Contains("makeimg[provision]: provision done", result.Output);

        string tree = Path.Combine(folder, "archtest");
        Assert.True(File.Exists(Path.Combine(tree, "bin/busybox")), "the package is not installed:\n" + result);
        Assert.True(Directory.Exists(Path.Combine(tree, "var/lib/pacman/local/anemos-hello-1.0-1")));
        EngineInputs.AssertTree(tree, "etc/anemos-hello.conf", Patched);
        Assert.Equal("archbox\n", File.ReadAllText(Path.Combine(tree, "etc/hostname")));
        Assert.Equal("/usr/share/zoneinfo/Europe/Berlin", new FileInfo(Path.Combine(tree, "etc/localtime")).LinkTarget);
        Assert.Equal("KEYMAP=de\n", File.ReadAllText(Path.Combine(tree, "etc/vconsole.conf")));
        // pacman.conf configures the bootstrap only.
        Assert.False(File.Exists(Path.Combine(tree, "etc/pacman.conf")));
        // Signatures were checked against the engine's keyring, which trusted keys/packager.gpg, and
        // the image got no keyring (hostconf has no keyring).
        Assert.Contains($"makeimg[bootstrap]: keyring: keys/packager.gpg key {fixture.PackagerFingerprint} is trusted", result.Output);
        Assert.Contains("makeimg[bootstrap]: pacman.conf: pacman.conf; SigLevel PackageRequired PackageTrustedOnly DatabaseOptional DatabaseTrustedOnly for [options], checked for [anemostest]", result.Output);
        Assert.False(Directory.Exists(Path.Combine(tree, "etc/pacman.d/gnupg")));
        Assert.False(File.Exists(Path.Combine(tree, "etc/fstab")));
    }

    /// <summary>makeimg on <paramref name="folder"/> without secrets: the bootstrap cases.</summary>
    static ProcessResult Bootstrapped(string folder) => Makeimg.Run(folder, EngineInputs.Environment(folder, secrets: false));

    static string Bootstrap(string package, string extra = "") => $"target=arch\nformat=dir\npackages=\"{package}\"\n{extra}";

    /// <summary>No gpg-agent of the engine's keyring outlives the run.</summary>
    static void AssertNoAgentOf(string folder)
    {
        var agents = ProcessRunner.Run("pgrep", "-a", "gpg-agent");
        Assert.DoesNotContain(folder, agents.StandardOutput);
    }

    [Fact]
    public void HostconfKeyringPutsTheBootstrapsKeyringIntoTheImage()
    {
        string folder = fixture.NewProject("hostconf-keyring", Bootstrap(ArchRepositoryFixture.Package, "hostconf=keyring\n"));
        var result = Bootstrapped(folder);
        Makeimg.AssertSucceeded(result);
        string gnupg = Path.Combine(folder, "image", "etc/pacman.d/gnupg");
        // The packager key is valid ("f": full) through the keyring's own locally signing key ("u").
        var keys = ProcessRunner.Run("gpg", "--homedir", gnupg, "--no-permission-warning", "--batch", "--with-colons", "--list-keys");
        Assert.True(keys.ExitCode == 0, keys.ToString());
        string[] lines = keys.StandardOutput.Split('\n');
        Assert.Contains(lines, l => l.StartsWith("uid:u:") && l.Contains("Pacman Keyring Master Key"));
        int packager = Array.FindIndex(lines, l => l.StartsWith("fpr:") && l.Contains(fixture.PackagerFingerprint));
        Assert.True(packager > 0 && lines[packager - 1].StartsWith("pub:f:"), keys.StandardOutput);
        Assert.Empty(Directory.GetFiles(gnupg, "S.*"));
        // This folder's path is long, so the bootstrap's keyring was under /tmp (gpg-agent's
        // sockets): it is gone, with its agent.
        string keyring = System.Text.RegularExpressions.Regex.Match(result.Output, @"makeimg\[bootstrap\]: keyring: (\S+) \(archlinux").Groups[1].Value;
        Assert.StartsWith("/tmp/makeimg-gnupg.", keyring);
        Assert.False(Directory.Exists(keyring));
        AssertNoAgentOf(keyring);
        AssertNoAgentOf(folder);
    }

    /// <summary>A project whose pacman.conf names only <paramref name="repository"/>.</summary>
    string RefreshProject(string name, string repository, string package)
    {
        string folder = fixture.NewProject(name, Bootstrap(package));
        File.WriteAllText(Path.Combine(folder, "pacman.conf"), fixture.PacmanConf(repository: repository));
        return folder;
    }

    [Fact]
    public void ARepositorysArchlinuxKeyringBringsTheKeyringUpToDateBeforePacstrap()
    {
        // anemos-fresh is signed by a key only the repository's newer archlinux-keyring makes valid.
        string folder = RefreshProject("refresh", "anemoskeyring", ArchRepositoryFixture.FreshPackage);
        var result = Bootstrapped(folder);
        Makeimg.AssertSucceeded(result);
        Assert.Contains($"makeimg[bootstrap]: keyring: brought up to date from the repositories' archlinux-keyring-{ArchRepositoryFixture.KeyringVersion}, verified by the keyring as built (3 trusted, 1 revoked)", result.Output);
        Assert.True(result.Output.IndexOf("brought up to date", StringComparison.Ordinal) < result.Output.IndexOf("pacstrap -C", StringComparison.Ordinal), result.Output);
        Assert.Equal("fresh\n", File.ReadAllText(Path.Combine(folder, "image", "etc/anemos-fresh")));
        // The keyring package went to the work folder's scratch root only, never into the image.
        Assert.False(Directory.Exists(Path.Combine(folder, "image", "usr/share/pacman/keyrings")));
        AssertNoAgentOf(folder);
    }

    [Fact]
    public void WithoutTheRepositorysKeyringThePackageOfTheNewerKeyIsRefused()
    {
        // The same package from a repository without archlinux-keyring: the keyring as built does not know its key.
        string folder = RefreshProject("no-refresh", "anemosnokeyring", ArchRepositoryFixture.FreshPackage);
        var result = Bootstrapped(folder);
        string line = Makeimg.AssertFailed(result, "bootstrap", "ANEMOS2256");
        Assert.Contains(fixture.FreshFingerprint[^16..], line);
        Assert.Contains("makeimg[bootstrap]: keyring: no repository offers archlinux-keyring; the keyring stays as built", result.Output);
    }

    [Fact]
    public void ARepositoryWhoseDatabaseCannotBeReadFailsBeforePacstrap()
    {
        string folder = fixture.NewProject("unreadable-db", Bootstrap(ArchRepositoryFixture.Package));
        File.WriteAllText(Path.Combine(folder, "pacman.conf"), fixture.PacmanConf().Replace("file://" + fixture.Repository, "file://" + Path.Combine(folder, "no-such-repository")));
        var result = Bootstrapped(folder);
        string line = Makeimg.AssertFailed(result, "bootstrap", "ANEMOS2225");
        Assert.Contains("pacman cannot read the repositories' databases", line);
        Assert.DoesNotContain("pacstrap -C", result.Output);
        AssertNoAgentOf(folder);
    }

    [Fact]
    public void ArchMirrorServesEveryRepositoryInPlaceOfThePacmanConfsServers()
    {
        // pacman.conf's Server leads nowhere; arch_mirror names the folder of each repository by $repo.
        string folder = fixture.NewProject("arch-mirror", Bootstrap(ArchRepositoryFixture.FreshPackage,
            $"arch_mirror=${{MIRROR:-'file://{fixture.Root}/$repo'}}\n"));
        File.WriteAllText(Path.Combine(folder, "mirrorlist"), "Server = file:///nonexistent/$repo\n");
        File.WriteAllText(Path.Combine(folder, "pacman.conf"), fixture.PacmanConf(repository: "anemoskeyring")
            .Replace("Server = file://", $"Include = {folder}/mirrorlist\nServer = file:///nonexistent"));
        var result = Bootstrapped(folder);
        Makeimg.AssertSucceeded(result);
        Assert.Contains($"makeimg[bootstrap]: arch_mirror: every repository from file://{fixture.Root}/$repo", result.Output);
        Assert.Equal("fresh\n", File.ReadAllText(Path.Combine(folder, "image", "etc/anemos-fresh")));
    }

    [Theory]
    [InlineData("arch_mirror=ftp://mirror.example.net/archlinux")]
    [InlineData("arch_mirror=mirror.example.net/$repo")]
    public void AnArchMirrorThatIsNoUrlIsRefusedByTheReadStep(string line)
    {
        string folder = fixture.NewProject("arch-mirror-bad-" + (line.Contains("ftp") ? "ftp" : "bare"), Bootstrap(ArchRepositoryFixture.Package, $"format=raw\n{line.Replace("$", "\\$")}\n"));
        var result = Bootstrapped(folder);
        string failure = Makeimg.AssertFailed(result, "read", "ANEMOS2259");
        Assert.Contains("is not an http, https or file URL", failure);
        Assert.DoesNotContain("makeimg[setup]", result.Output);
    }

    [Fact]
    public void APackageSignedByAKeyTheRefreshedKeyringRevokesIsRefused()
    {
        string folder = RefreshProject("refresh-revoked", "anemoskeyring", ArchRepositoryFixture.RevokedPackage);
        var result = Bootstrapped(folder);
        string line = Makeimg.AssertFailed(result, "bootstrap", "ANEMOS2256");
        // pacman names a disabled key by its user id.
        Assert.Contains("signed by key \"Anemos test revoked packager <revoked@anemos.test>\"", line);
        Assert.Contains("brought up to date", result.Output);
        Assert.False(File.Exists(Path.Combine(folder, "image", "etc/anemos-revoked")));
    }

    [Fact]
    public void AnArchlinuxKeyringSignedByAKeyOutsideTheKeyringIsRefusedBeforePacstrap()
    {
        string folder = RefreshProject("refresh-stranger", "strangerkeyring", ArchRepositoryFixture.FreshPackage);
        var result = Bootstrapped(folder);
        string line = Makeimg.AssertFailed(result, "bootstrap", "ANEMOS2258");
        Assert.Contains($"signed by key {fixture.StrangerFingerprint[^16..]}", line);
        Assert.Contains("cannot be brought up to date", line);
        Assert.DoesNotContain("pacstrap -C", result.Output);
        AssertNoAgentOf(folder);
    }

    [Fact]
    public void APackageSignedByAKeyOutsideTheKeyringIsRefused()
    {
        string folder = fixture.NewProject("stranger", Bootstrap(ArchRepositoryFixture.StrangerPackage));
        var result = Bootstrapped(folder);
        string line = Makeimg.AssertFailed(result, "bootstrap", "ANEMOS2256");
        // pacman names the key by its long id, the last 16 digits of the fingerprint.
        Assert.Contains($"signed by key {fixture.StrangerFingerprint[^16..]}", line);
        Assert.Contains("put it in keys/", line);
        Assert.DoesNotContain("installing anemos-stranger", result.Output);
        AssertNoAgentOf(folder);
    }

    [Fact]
    public void AnUnsignedPackageIsRefused()
    {
        string folder = fixture.NewProject("unsigned", Bootstrap(ArchRepositoryFixture.UnsignedPackage));
        var result = Bootstrapped(folder);
        string line = Makeimg.AssertFailed(result, "bootstrap", "ANEMOS2257");
        Assert.Contains("anemos-unsigned-1.0-1-any.pkg.tar.gz.sig", line);
        Assert.Contains("makepkg --sign", line);
        Assert.DoesNotContain("installing anemos-unsigned", result.Output);
    }

    [Fact]
    public void ADatabaseSignedByAKeyOutsideTheKeyringIsRefused()
    {
        // The package itself is the packager's; the database of strangerdb is signed by the stranger key.
        string folder = fixture.NewProject("stranger-db", Bootstrap(ArchRepositoryFixture.Package));
        File.WriteAllText(Path.Combine(folder, "pacman.conf"), fixture.PacmanConf(repository: "strangerdb"));
        var result = Bootstrapped(folder);
        string line = Makeimg.AssertFailed(result, "bootstrap", "ANEMOS2256");
        Assert.Contains(fixture.StrangerFingerprint[^16..], line);
        Assert.DoesNotContain("installing anemos-hello", result.Output);
    }

    /// <summary>
    /// A pacman.conf (or a file it includes) that would let a package in without a trusted signature
    /// is refused before the keyring is made or anything fetched; an unsigned database
    /// (DatabaseOptional, as Arch's own repositories have it) is allowed.
    /// </summary>
    [Theory]
    [InlineData("SigLevel = Never", "", "[options] install packages without a trusted signature (its SigLevel gives PackageNever DatabaseNever)")]
    [InlineData("", "SigLevel = Optional TrustAll", "[anemostest] install packages without a trusted signature (its SigLevel gives PackageOptional PackageTrustAll DatabaseTrustAll)")]
    [InlineData("", "SigLevel = PackageTrustAll", "(its SigLevel gives PackageTrustAll)")]
    [InlineData("", "SigLevel = Required DatabaseNever", "(its SigLevel gives DatabaseNever)")]
    [InlineData("SigLevel = Optional", "SigLevel = Required", "[options] install packages")]
    [InlineData("", "Include = INCLUDED", "[anemostest] install packages without a trusted signature (its SigLevel gives PackageNever DatabaseNever)")]
    [InlineData("", "SigLevel = Sometimes", "pacman cannot read pacman.conf (config file")]
    [InlineData("", "SigLevel = Required DatabaseOptional", null)]
    public void APacmanConfThatWeakensSignaturesIsRefusedBeforeAnythingIsFetched(string options, string repositoryLines, string? expected)
    {
        string folder = fixture.NewProject("siglevel-" + Math.Abs(StringComparer.Ordinal.GetHashCode(options + repositoryLines)), Bootstrap(ArchRepositoryFixture.Package));
        string included = Path.Combine(folder, "included.conf");
        File.WriteAllText(included, "SigLevel = Never\n");
        File.WriteAllText(Path.Combine(folder, "pacman.conf"), fixture.PacmanConf(options, repositoryLines.Replace("INCLUDED", included)));
        var result = Bootstrapped(folder);
        if (expected is null)
        {
            Makeimg.AssertSucceeded(result);
            return;
        }
        string line = Makeimg.AssertFailed(result, "bootstrap", "ANEMOS2254");
        Assert.Contains(expected, line);
        Assert.DoesNotContain("makeimg[bootstrap]: keyring:", result.Output);
        Assert.DoesNotContain("pacstrap -C", result.Output);
    }

    [Fact]
    public void WithoutAnyKeyringNothingIsFetched()
    {
        // No keys/ next to the IMGBUILD, and the installer's keyrings hidden under an empty tmpfs
        // (this machine has no archlinux-keyring anyway): nothing could verify a package.
        string folder = fixture.NewProject("no-keyring", Bootstrap(ArchRepositoryFixture.Package));
        Directory.Delete(Path.Combine(folder, "keys"), recursive: true);
        var environment = EngineInputs.Environment(folder, secrets: false);
        environment["MAKEIMG_TEST_HIDE"] = "/usr/share/keyrings";
        var result = Makeimg.Run(folder, environment);
        string line = Makeimg.AssertFailed(result, "bootstrap", "ANEMOS2255");
        Assert.Contains("no /usr/share/keyrings/archlinux.gpg", line);
        Assert.Contains("archlinux-keyring", line);
        Assert.DoesNotContain("pacstrap -C", result.Output);
    }

    [Theory]
    [InlineData("empty", "keys/ has no *.gpg keyring file")]
    [InlineData("not-a-key", "keys/notes.gpg is not a key file gpg can read")]
    public void AKeysFolderWithoutAUsableKeyIsRefused(string shape, string expected)
    {
        string folder = fixture.NewProject("keys-" + shape, Bootstrap(ArchRepositoryFixture.Package));
        File.Delete(Path.Combine(folder, "keys", "packager.gpg"));
        if (shape == "not-a-key") File.WriteAllText(Path.Combine(folder, "keys", "notes.gpg"), "the packager key goes here\n");
        var result = Bootstrapped(folder);
        Assert.Contains(expected, Makeimg.AssertFailed(result, "bootstrap", "ANEMOS2221"));
        Assert.DoesNotContain("pacstrap -C", result.Output);
        AssertNoAgentOf(folder);
    }

    [Fact]
    public void ATarGzipBuildIsATarballGnuTarLists()
    {
        string folder = Project("tar", "dir");
        var result = Makeimg.Run(folder, EngineInputs.Environment(folder), "--format", "tar gzip");
        Makeimg.AssertSucceeded(result);
        string tarball = Path.Combine(folder, "archtest.tar.gz");
        var listing = ProcessRunner.Run("tar", "--numeric-owner", "-tvzf", tarball);
        Assert.True(listing.ExitCode == 0, listing.ToString());
        Assert.Matches(@"(?m)^-rw-r----- 0/0 .* \./etc/motd$", listing.StandardOutput);
        Assert.Matches(@"(?m)^-rwxr-xr-x 0/0 .* \./bin/busybox$", listing.StandardOutput);
        Assert.Matches(@"(?m)^-rw-r--r-- 0/0 .* \./etc/provisioned$", listing.StandardOutput);
        Assert.DoesNotContain("run/anemos", listing.StandardOutput);

        string unpacked = Path.Combine(folder, "unpacked");
        Directory.CreateDirectory(unpacked);
        var unpack = ProcessRunner.Run("tar", "--numeric-owner", "-xzpf", tarball, "-C", unpacked);
        Assert.True(unpack.ExitCode == 0, unpack.ToString());
        EngineInputs.AssertTree(unpacked, "etc/anemos-hello.conf", Patched);
        // The working tree under TMPDIR is gone.
        Assert.Empty(Directory.GetDirectories(Path.Combine(folder, "tmp")));
    }

    [Theory]
    [InlineData("gpt", "1G", "sh")]
    [InlineData("msdos", "300M", "busybox")]
    public void ARawImageHasTheDeclaredPartitionsAnExt4RootAndAnFstabNamingItsUuid(string table, string size, string shell)
    {
        string folder = Project("raw-" + table, $"raw {size} {table} ext4");
        string image = Path.Combine(folder, "disk.img");
        var result = shell == "busybox"
            ? Makeimg.RunWithBusybox(folder, EngineInputs.Environment(folder, secrets: false), "--image", image)
            : Makeimg.Run(folder, EngineInputs.Environment(folder, secrets: false), "--image", image);
        Makeimg.AssertSucceeded(result);

        long bytes = size == "1G" ? 1L << 30 : 300L << 20;
        Assert.Equal(bytes, new FileInfo(image).Length);
        var (label, partitions) = Vm.DiskImage.PartitionTable(image);
        bool uefi = Directory.Exists("/sys/firmware/efi");
        int rootNumber;
        if (table == "gpt")
        {
            Assert.Equal("gpt", label);
            Assert.Equal(uefi ? 3 : 2, partitions.Count);
            Assert.Equal("21686148-6449-6E6F-744E-656564454649", partitions[0].Type);
            Assert.Equal(2048, partitions[0].Sectors);
            if (uefi) Assert.Equal("C12A7328-F81F-11D2-BA4B-00A0C93EC93B", partitions[1].Type);
            rootNumber = partitions.Count;
            Assert.Equal("0FC63DAF-8483-4772-8E79-3D69D8477DE4", partitions[^1].Type);
        }
        else
        {
            Assert.Equal("dos", label);
            Assert.Single(partitions);
            Assert.Equal("83", partitions[0].Type);
            Assert.Contains("bootable", ProcessRunner.Run("sfdisk", "--dump", image).StandardOutput);
            rootNumber = 1;
        }
        var root = partitions[rootNumber - 1];
        Assert.True(root.Start + root.Sectors <= bytes / 512, "the root partition ends past SIZE");
        Assert.True(root.Sectors >= bytes / 512 - 4096 - (uefi ? 524288 : 0) - 2048, "the root partition does not span SIZE");

        using var partition = PartitionOf(image, root);
        var blkid = ProcessRunner.Run("blkid", "-p", "-o", "export", partition.Device);
        Assert.Contains("TYPE=ext4", blkid.StandardOutput);
        string uuid = blkid.StandardOutput.Split('\n').Single(l => l.StartsWith("UUID=")).Substring(5);
        string fstab = Debugfs(partition.Device, "cat /etc/fstab");
        Assert.Matches($@"(?m)^UUID={uuid}\s+/\s+ext4\s", fstab);
        string provisioned = Debugfs(partition.Device, "cat /etc/provisioned");
        Assert.Matches($@"disk=/dev/loop\d+ root=/dev/loop\d+p{rootNumber} efi=\S* uuid={uuid} boot=(bios|uefi)", provisioned);
        Assert.Equal(Patched, Debugfs(partition.Device, "cat /etc/anemos-hello.conf"));
        Assert.Equal("deployed by Anemos\n", Debugfs(partition.Device, "cat /etc/motd"));
        Assert.DoesNotContain("provision-was-here", Debugfs(partition.Device, "ls /run"));
    }

    [Fact]
    public void RawOnADiskWritesOnlySizeOfIt()
    {
        // The deploy's case: --disk names a block device (here a 128 MiB loop device without
        // partition scanning) that is bigger than SIZE; the partitions span SIZE only.
        string folder = Project("raw-disk", "raw 64M msdos ext4");
        string backing = Path.Combine(folder, "disk.img");
        using (var file = File.Create(backing)) file.SetLength(128L << 20);
        var attach = ProcessRunner.Run("losetup", "-f", "--show", backing);
        Assert.True(attach.ExitCode == 0, attach.ToString());
        using (var disk = new Attached(attach.StandardOutput.Trim()))
        {
            var result = Makeimg.Run(folder, EngineInputs.Environment(folder, secrets: false), "--disk", disk.Device);
            Makeimg.AssertSucceeded(result);
            Assert.Contains($"root {disk.Device}p1 (ext4", result.Output);
        }
        var (label, partitions) = Vm.DiskImage.PartitionTable(backing);
        Assert.Equal("dos", label);
        var root = Assert.Single(partitions);
        Assert.Equal(2048, root.Start);
        Assert.Equal((64L << 20) / 512 - 2048, root.Sectors);
        using var partition = PartitionOf(backing, root);
        Assert.Matches(@"disk=/dev/loop\d+ root=/dev/loop\d+p1 efi= uuid=[0-9a-f-]{36} boot=bios", Debugfs(partition.Device, "cat /etc/provisioned"));
    }

    internal sealed record Attached(string Device) : IDisposable
    {
        public void Dispose() => ProcessRunner.Run("losetup", "-d", Device);
    }

    /// <summary>One partition of an image as a read-only loop device, for blkid and debugfs.</summary>
    internal static Attached PartitionOf(string image, Vm.DiskImage.Partition partition)
    {
        var attach = ProcessRunner.Run("losetup", "-r", "-f", "--show", "-o", (partition.Start * 512).ToString(),
            "--sizelimit", (partition.Sectors * 512).ToString(), image);
        Assert.True(attach.ExitCode == 0, attach.ToString());
        return new Attached(attach.StandardOutput.Trim());
    }

    internal static string Debugfs(string device, string request)
    {
        var result = ProcessRunner.Run("debugfs", "-R", request, device);
        Assert.True(result.ExitCode == 0, result.ToString());
        return result.StandardOutput;
    }

    [Fact]
    public void APatchThatDoesNotApplyFailsThePatchesStepNamingTheFile()
    {
        string folder = Project("bad-patch", "dir");
        File.WriteAllText(Path.Combine(folder, "files/etc/anemos-hello.conf.makeimg.patch"), Patch.Replace("-color=blue", "-color=red"));
        string stepFile = Path.Combine(folder, "step");
        var result = Makeimg.Run(folder, EngineInputs.Environment(folder), "--step-file", stepFile);
        string line = Makeimg.AssertFailed(result, "patches", "ANEMOS2231");
        Assert.Contains("etc/anemos-hello.conf.makeimg.patch does not apply to /etc/anemos-hello.conf", line);
        Assert.Equal("patches\n", File.ReadAllText(stepFile));
        Assert.DoesNotContain("makeimg[templates]", result.Output);
    }

    [Fact]
    public void AFailedRawBuildLeavesNoMountAndNoLoopDevice()
    {
        // The template fails inside the loop over input files; the EXIT trap still unmounts and detaches.
        string folder = Project("bad-template-raw", "raw 64M msdos ext4");
        File.WriteAllText(Path.Combine(folder, "files/etc/second.conf.makeimg.template"), "b=${NOT_DEFINED_ANYWHERE}\n");
        string image = Path.Combine(folder, "disk.img");
        var result = Makeimg.Run(folder, EngineInputs.Environment(folder), "--image", image);
        Makeimg.AssertFailed(result, "templates", "ANEMOS2232");
        // Makeimg.Run already failed the test if a mount under the folder or a loop device of disk.img was left.
        Assert.DoesNotContain(image, ProcessRunner.Run("losetup", "-a").StandardOutput);
        Assert.Empty(Directory.GetDirectories(Path.Combine(folder, "tmp")));
    }

    [Fact]
    public void AnUndefinedTemplateVariableFailsTheTemplatesStepWithFileAndLine()
    {
        string folder = Project("bad-template", "dir");
        File.WriteAllText(Path.Combine(folder, "files/etc/second.conf.makeimg.template"), "a=${ANEMOS_HOST}\nb=${NOT_DEFINED_ANYWHERE}\n");
        var result = Makeimg.Run(folder, EngineInputs.Environment(folder));
        string line = Makeimg.AssertFailed(result, "templates", "ANEMOS2232");
        Assert.Contains("etc/second.conf.makeimg.template line 2: ${NOT_DEFINED_ANYWHERE} is not defined", line);
    }

    [Fact]
    public void AProvisionThatExitsNonZeroFailsTheProvisionStep()
    {
        string folder = fixture.NewProject("bad-provision", $$"""
            target=arch
            format=dir
            packages="{{ArchRepositoryFixture.Package}}"
            provision() {
                echo "about to fail"
                false
                echo "never reached" >/etc/never
            }
            """);
        string stepFile = Path.Combine(folder, "step");
        var result = Makeimg.Run(folder, EngineInputs.Environment(folder), "--step-file", stepFile);
        string line = Makeimg.AssertFailed(result, "provision", "ANEMOS2242");
        Assert.Contains("provision() exited with status 1", line);
        Assert.Contains("makeimg[provision]: about to fail", result.Output);
        Assert.Equal("provision\n", File.ReadAllText(stepFile));
        Assert.DoesNotContain("makeimg[finish]", result.Output);
    }

    [Fact]
    public void AMissingPackageFailsTheBootstrapStep()
    {
        string folder = fixture.NewProject("bad-package", """
            target=arch
            format=dir
            packages="no-such-package-anywhere"
            """);
        var result = Makeimg.Run(folder, EngineInputs.Environment(folder));
        string line = Makeimg.AssertFailed(result, "bootstrap", "ANEMOS2225");
        Assert.Contains("pacstrap failed", line);
    }

    /// <summary>The later steps' own failures, each with its step and code, after a real (fast) bootstrap.</summary>
    [Theory]
    [InlineData("bad-hostconf-word", "bootstrap", "ANEMOS2227")]
    [InlineData("file-through-an-absolute-link", "files", "ANEMOS2230")]
    [InlineData("cleanup-fails", "finish", "ANEMOS2251")]
    public void EachLaterFailureHasItsStepAndCode(string shape, string step, string code)
    {
        string imgbuild = shape switch
        {
            "bad-hostconf-word" => $"target=arch\nformat=dir\npackages=\"{ArchRepositoryFixture.Package}\"\nhostconf=\"colour=blue\"\n",
            "file-through-an-absolute-link" => $"target=arch\nformat=dir\npackages=\"{ArchRepositoryFixture.Package}\"\n",
            _ => $"target=arch\nformat=custom\npackages=\"{ArchRepositoryFixture.Package}\"\n" +
                "setup() { mount -t tmpfs -o size=64m tmpfs \"$1\"; }\ncleanup() { umount \"$1\"; return 4; }\n",
        };
        string folder = fixture.NewProject(shape, imgbuild);
        string outside = Path.Combine(folder, "outside");
        string[] arguments = [];
        if (shape == "file-through-an-absolute-link")
        {
            // A first input folder makes /srv a link out of the image; a second one has a file below it,
            // which would land on the installer's own disk.
            Directory.CreateDirectory(outside);
            Directory.CreateDirectory(Path.Combine(folder, "links"));
            File.CreateSymbolicLink(Path.Combine(folder, "links", "srv"), outside);
            Directory.CreateDirectory(Path.Combine(folder, "site", "srv", "www"));
            File.WriteAllText(Path.Combine(folder, "site", "srv", "www", "index.html"), "hello\n");
            arguments = ["links", "site"];
        }
        var result = Makeimg.Run(folder, new Dictionary<string, string?> { ["ANEMOS_SECRETS"] = null }, arguments);
        Makeimg.AssertFailed(result, step, code);
        if (Directory.Exists(outside)) Assert.Empty(Directory.EnumerateFileSystemEntries(outside));
    }

    [Fact]
    public void CustomCallsSetupAndCleanupWithTheRoot()
    {
        string folder = fixture.NewProject("custom", $$"""
            target=arch
            format=custom
            packages="{{ArchRepositoryFixture.Package}}"
            setup() {
                mount -t tmpfs -o size=64m tmpfs "$1"
                echo "setup $1 $ANEMOS_ROOT" >"$RECORD"
            }
            cleanup() {
                cp "$1/etc/provisioned" "$RECORD.provisioned"
                umount "$1"
                echo "cleanup $1" >>"$RECORD"
            }
            provision() {
                echo "custom root=[$ANEMOS_ROOT_PARTITION] disk=[$ANEMOS_INSTALL_DISK]" >/etc/provisioned
            }
            """);
        string record = Path.Combine(folder, "record");
        string root = Path.Combine(folder, "the-root");
        var result = Makeimg.Run(folder, new Dictionary<string, string?> { ["RECORD"] = record, ["ANEMOS_SECRETS"] = null }, "--root", root);
        Makeimg.AssertSucceeded(result);
        Assert.Equal($"setup {root} {root}\ncleanup {root}\n", File.ReadAllText(record));
        Assert.Equal("custom root=[] disk=[]\n", File.ReadAllText(record + ".provisioned"));
    }
}
