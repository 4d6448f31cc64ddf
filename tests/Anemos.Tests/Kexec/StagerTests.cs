using System.Text;
using Anemos.Core.Cpio;
using Anemos.Core.Hashing;
using Anemos.Core.Initramfs;
using Anemos.Core.Manifest;
using Anemos.Core.Protocol;
using Anemos.Kexec;
using Anemos.Tests.Infrastructure;

namespace Anemos.Tests.Kexec;

/// <summary>`stage` and the boot preflight: every proof, and every refusal with its code.</summary>
public sealed class StagerTests : IDisposable
{
    readonly string _root = TestProject.NewDirectory();
    readonly string _state;
    readonly string _upload;
    readonly List<string> _reports = [];
    AnemosManifest _manifest = null!;

    public StagerTests()
    {
        _state = Path.Combine(_root, "state");
        _upload = Path.Combine(_state, "upload");
        Directory.CreateDirectory(_upload);
        WriteArtifacts();
    }

    public void Dispose() { try { Directory.Delete(_root, recursive: true); } catch (IOException) { } }

    string Upload(string name) => Path.Combine(_upload, name);
    string ManifestPath => Path.Combine(_upload, "manifest.json");

    /// <summary>A kernel, a base and an overlay as a build makes them, and their manifest.</summary>
    void WriteArtifacts()
    {
        var random = new Random(9);
        byte[] kernel = new byte[70_001];
        random.NextBytes(kernel);
        File.WriteAllBytes(Upload("vmlinuz"), kernel);
        WriteCpio(Upload("base.img"), ("bin/sh", "base"), ("etc/base", new string('b', 1001)));
        WriteCpio(Upload("overlay.cpio"), ("anemos/host.env", "ANEMOS_HOST='x'\n"));
        string initramfs = Path.Combine(_root, "initramfs.expected");
        var digest = InitramfsLayout.AssembleFile(Upload("base.img"), [Upload("overlay.cpio")], initramfs);
        _manifest = new AnemosManifest
        {
            Host = "x",
            SdkVersion = Repository.Version,
            Kernel = ManifestArtifact.From(FileDigest.OfFile(Upload("vmlinuz"))),
            Base = ManifestArtifact.From(FileDigest.OfFile(Upload("base.img"))),
            Payload = ManifestArtifact.From(FileDigest.OfBytes("payload"u8)),
            Overlay = ManifestArtifact.From(FileDigest.OfFile(Upload("overlay.cpio"))),
            Initramfs = ManifestArtifact.From(digest),
            CommandLine = "quiet",
        };
        File.WriteAllText(ManifestPath, _manifest.ToJson());
    }

    static void WriteCpio(string path, params (string Name, string Content)[] files)
    {
        using var stream = File.Create(path);
        using var cpio = new NewcWriter(stream);
        foreach (var (name, content) in files) cpio.AddFile(name, Encoding.UTF8.GetBytes(content));
        cpio.Finish();
        stream.WriteByte(0); // an odd length, as compressed bases have
    }

    StagedState Stage(string? network = null, params string[] segments) =>
        new Stager(_state, _reports.Add).Stage(ManifestPath, _upload, network, segments, ["console=ttyS0"]);

    static HelperException Refused(string code, Action action)
    {
        var refusal = Assert.Throws<HelperException>(action);
        Assert.Equal(code, refusal.Code);
        return refusal;
    }

    [Fact]
    public void StagesProvesAndAppendsTheNetworkSnapshotAfterTheProvenPart()
    {
        var state = Stage("# Anemos network snapshot, format 1\nlink 52:54:00:12:34:56\n");
        Assert.Equal(_manifest.Initramfs.Sha256, state.ProvenSha256);
        Assert.Equal(["network"], state.Segments);
        Assert.Equal("quiet console=ttyS0", state.CommandLine);
        byte[] staged = File.ReadAllBytes(state.InitramfsPath);
        byte[] proven = File.ReadAllBytes(Path.Combine(_root, "initramfs.expected"));
        Assert.Equal(proven, staged[..proven.Length]);
        Assert.Equal(state.InitramfsSha256, FileDigest.OfBytes(staged).Sha256);
        Assert.True(File.Exists(Path.Combine(_state, "staged", "state.json")));
        // The three artifacts are now in the cache, named by sha256, and a second stage takes them from there.
        foreach (var artifact in new[] { _manifest.Kernel, _manifest.Base, _manifest.Overlay })
            Assert.True(File.Exists(Path.Combine(_state, "cache", "sha256", artifact.Sha256)));
        foreach (string file in Directory.GetFiles(_upload).Where(f => !f.EndsWith("manifest.json"))) File.Delete(file);
        _reports.Clear();
        Stage();
        Assert.Contains("kernel: in the cache", _reports);
        Assert.Contains("overlay: in the cache", _reports);
    }

    [Fact]
    public void AppendsTheBootDiskAfterTheNetworkSnapshot()
    {
        string bootDisk = "# Anemos boot disk, format 1\ndevice vda\nserial anemos-disk0\nsize 8388608\n";
        var state = new Stager(_state, _reports.Add).Stage(ManifestPath, _upload, "# Anemos network snapshot, format 1\n", [], [], bootDisk);
        Assert.Equal(["network", "boot-disk"], state.Segments);
        Assert.Equal(_manifest.Initramfs.Sha256, state.ProvenSha256);
        // The last segment of the staged initramfs is the boot disk's cpio; GNU cpio reads it back.
        string segment = Path.Combine(_state, "staged", "boot-disk.cpio");
        byte[] segmentBytes = File.ReadAllBytes(segment);
        Assert.True(File.ReadAllBytes(state.InitramfsPath).AsSpan().EndsWith(segmentBytes));
        var content = ProcessRunner.Run("sh", "-c", $"cpio -i --quiet --to-stdout anemos/boot-disk <'{segment}'");
        Assert.Equal(bootDisk, content.StandardOutput);
    }

    [Fact]
    public void ATargetDiskByKernelNameTravelsAsTheDiskItDescribesAfterTheBootDisk()
    {
        string bootDisk = "# Anemos boot disk, format 1\ndevice vda\nserial anemos-disk0\n";
        string targetDisk = "# Anemos boot disk, format 1\ndevice vdb\nserial anemos-disk1\nsize 67108864\n";
        var state = new Stager(_state, _reports.Add).Stage(ManifestPath, _upload, null, [], [], bootDisk, targetDisk: targetDisk);
        Assert.Equal(["boot-disk", "target-disk"], state.Segments);
        string segment = Path.Combine(_state, "staged", "target-disk.cpio");
        Assert.True(File.ReadAllBytes(state.InitramfsPath).AsSpan().EndsWith(File.ReadAllBytes(segment)));
        var content = ProcessRunner.Run("sh", "-c", $"cpio -i --quiet --to-stdout anemos/target-disk <'{segment}'");
        Assert.Equal(targetDisk, content.StandardOutput);
    }

    [Fact]
    public void TheOldSystemsLoginKeysTravelAsTheirOwnSegmentReadableByRootAlone()
    {
        var keys = new LoginKeys.Found("debian", ["/home/debian/.ssh/authorized_keys"], ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl operator@laptop"], []);
        var state = new Stager(_state, _reports.Add).Stage(ManifestPath, _upload, null, [], [], loginKeys: keys);
        Assert.Equal(["login-keys"], state.Segments);
        Assert.Equal("1 key(s) of debian (/home/debian/.ssh/authorized_keys)", state.LoginKeys);
        string segment = Path.Combine(_state, "staged", "login-keys.cpio");
        Assert.True(File.ReadAllBytes(state.InitramfsPath).AsSpan().EndsWith(File.ReadAllBytes(segment)));
        var listing = ProcessRunner.Run("sh", "-c", $"cpio -itv --quiet <'{segment}'");
        Assert.Matches(@"(?m)^-rw------- .* anemos/login_keys$", listing.StandardOutput);
        var content = ProcessRunner.Run("sh", "-c", $"cpio -i --quiet --to-stdout anemos/login_keys <'{segment}'");
        Assert.Equal(System.Text.Encoding.UTF8.GetString(keys.ToFile()), content.StandardOutput);
        // Nothing found: no segment, and the state says why.
        var none = new Stager(_state, _reports.Add).Stage(ManifestPath, _upload, null, [], [], loginKeys: new LoginKeys.Found("root", [], [], []));
        Assert.Empty(none.Segments);
        Assert.Equal("none of root (no authorized_keys file)", none.LoginKeys);
    }

    [Fact]
    public void ARefusedManifestStopsEverything()
    {
        File.WriteAllText(ManifestPath, "{ \"schemaVersion\": 7 }");
        Refused(HelperCodes.ManifestInvalid, () => Stage());
    }

    [Fact]
    public void ATamperedUploadIsRefusedAndRemoved()
    {
        byte[] overlay = File.ReadAllBytes(Upload("overlay.cpio"));
        overlay[200] ^= 0xFF;
        File.Delete(Upload("overlay.cpio"));
        File.WriteAllBytes(Upload(_manifest.Overlay.Sha256), overlay);
        var refusal = Refused(HelperCodes.HashMismatch, () => Stage());
        Assert.Contains(_manifest.Overlay.Sha256, refusal.Message);
        Assert.False(File.Exists(Upload(_manifest.Overlay.Sha256)));
        Assert.False(File.Exists(Path.Combine(_state, "staged", "state.json")));
        Assert.False(File.Exists(Path.Combine(_state, "cache", "sha256", _manifest.Overlay.Sha256)));
    }

    [Fact]
    public void ATruncatedUploadIsRefusedAndRemoved()
    {
        byte[] kernel = File.ReadAllBytes(Upload("vmlinuz"));
        File.Delete(Upload("vmlinuz"));
        File.WriteAllBytes(Upload(_manifest.Kernel.Sha256), kernel[..1000]);
        Refused(HelperCodes.SizeMismatch, () => Stage());
        Assert.False(File.Exists(Upload(_manifest.Kernel.Sha256)));
    }

    [Fact]
    public void AMissingArtifactIsNamed()
    {
        File.Delete(Upload("base.img"));
        var refusal = Refused(HelperCodes.ArtifactMissing, () => Stage());
        Assert.Contains(_manifest.Base.Sha256, refusal.Message);
    }

    [Fact]
    public void AFailedDownloadIsACodedRefusal()
    {
        File.Delete(Upload("base.img"));
        File.WriteAllText(ManifestPath, (_manifest with { Base = _manifest.Base with { Url = "https://127.0.0.1:1/base.img" } }).ToJson());
        var refusal = Refused(HelperCodes.DownloadFailed, () => Stage());
        Assert.Contains("https://127.0.0.1:1/base.img", refusal.Message);
    }

    [Fact]
    public void AnInitramfsThatDoesNotProveIsNeverStaged()
    {
        File.WriteAllText(ManifestPath, (_manifest with { Initramfs = _manifest.Initramfs with { Sha256 = new string('0', 64) } }).ToJson());
        Refused(HelperCodes.InitramfsNotProven, () => Stage());
        Assert.False(File.Exists(Path.Combine(_state, "staged", "state.json")));
        Assert.False(File.Exists(Path.Combine(_state, "staged", "proven.img")));
    }

    [Fact]
    public void ADamagedCacheEntryIsReplaced()
    {
        Stage();
        string cached = Path.Combine(_state, "cache", "sha256", _manifest.Base.Sha256);
        File.WriteAllText(cached, "damaged");
        _reports.Clear();
        Stage();
        Assert.Contains("base: the cached copy is damaged; removed", _reports);
        Assert.Equal(_manifest.Base.Sha256, FileDigest.OfFile(cached).Sha256);
    }

    [Fact]
    public void AProvenCacheEntryIsTrustedUntilItsWriteTimeChanges()
    {
        Stage();
        string cached = Path.Combine(_state, "cache", "sha256", _manifest.Kernel.Sha256);
        _reports.Clear();
        Stage();
        Assert.Contains("kernel: in the cache", _reports);
        // Written to (its write time moves): hashed again before it is used.
        File.SetLastWriteTimeUtc(cached, File.GetLastWriteTimeUtc(cached).AddSeconds(-5));
        _reports.Clear();
        Stage();
        Assert.Contains("kernel: in the cache, proven again", _reports);
    }

    [Fact]
    public void ACacheEntryChangedBehindItsProofIsCaughtByBootAndProvenAgainByTheNextStage()
    {
        Stage();
        // The base's bytes change while its size and write time stay (what no tool but a deliberate root would do).
        string cached = Path.Combine(_state, "cache", "sha256", _manifest.Base.Sha256);
        var written = File.GetLastWriteTimeUtc(cached);
        byte[] bytes = File.ReadAllBytes(cached);
        bytes[0] ^= 0xff;
        File.WriteAllBytes(cached, bytes);
        File.SetLastWriteTimeUtc(cached, written);
        _reports.Clear();
        Stage();
        Assert.Contains("base: in the cache", _reports);
        // boot hashes every byte it would load: the staged initramfs is not what stage proved.
        Refused(HelperCodes.HashMismatch, () => Booter("4000000").Preflight(checkPrivileges: false));
        Assert.False(Directory.Exists(CacheProof.Directory(_state)));
        _reports.Clear();
        Stage();
        Assert.Contains("base: the cached copy is damaged; removed", _reports);
        Booter("4000000").Preflight(checkPrivileges: false);
    }

    [Fact]
    public void ASecondStageIsRefusedWhileTheLockIsHeld()
    {
        using var held = StateLock.Acquire(_state);
        var refusal = Refused(HelperCodes.LockHeld, () => StateLock.Acquire(_state));
        Assert.Contains(Environment.ProcessId.ToString(), refusal.Message);
    }

    [Fact]
    public void ASegmentMustBeACpioArchive()
    {
        string segment = Path.Combine(_root, "secrets.cpio");
        File.WriteAllText(segment, "not an archive");
        Refused(HelperCodes.SegmentInvalid, () => Stage(null, segment));
    }

    // The boot preflight reads /proc from a fake root, so memory and kexec settings can be set.
    Booter Booter(string memAvailableKb, string loadDisabled = "0", string lockdown = "[none] integrity confidentiality")
    {
        string fake = Path.Combine(_root, "fake-root");
        Directory.CreateDirectory(Path.Combine(fake, "proc/sys/kernel"));
        Directory.CreateDirectory(Path.Combine(fake, "sys/kernel/security"));
        File.WriteAllText(Path.Combine(fake, "sys/kernel/security/lockdown"), lockdown + "\n");
        File.WriteAllText(Path.Combine(fake, "proc/meminfo"), $"MemTotal: 4000000 kB\nMemAvailable: {memAvailableKb} kB\n");
        File.WriteAllText(Path.Combine(fake, "proc/sys/kernel/kexec_load_disabled"), loadDisabled + "\n");
        return new Booter(_state, new SystemFiles(fake), _reports.Add);
    }

    [Fact]
    public void BootRefusesWhenNothingIsStaged() =>
        Refused(HelperCodes.NothingStaged, () => Booter("4000000").Preflight(checkPrivileges: false));

    [Fact]
    public void BootRefusesWithoutEnoughMemoryAndSaysHowMuchIsMissing()
    {
        Stage();
        var refusal = Refused(HelperCodes.NotEnoughMemory, () => Booter("20000").Preflight(checkPrivileges: false));
        Assert.Matches(@"\d+ MiB are missing", refusal.Message);
    }

    [Fact]
    public void BootRefusesWhenKexecIsDisabled()
    {
        Stage();
        Refused(HelperCodes.KexecDisabled, () => Booter("4000000", loadDisabled: "1").Preflight(checkPrivileges: false));
    }

    [Fact]
    public void BootRefusesAStagedFileThatChangedSinceItWasProven()
    {
        var state = Stage();
        File.AppendAllText(state.InitramfsPath, "x");
        Refused(HelperCodes.HashMismatch, () => Booter("4000000").Preflight(checkPrivileges: false));
    }

    [Fact]
    public void UnderLockdownAnUnsignedKernelIsRefusedAndASignedOneAccepted()
    {
        Stage();
        Refused(HelperCodes.KernelUnsigned, () => Booter("4000000", lockdown: "none [integrity] confidentiality").Preflight(checkPrivileges: false));

        // Debian's kernel is signed (an EFI stub with a certificate table).
        File.Copy(Path.Combine(Repository.DebianPackages, "vmlinuz"), Upload("vmlinuz"), overwrite: true);
        File.WriteAllText(ManifestPath, (_manifest with { Kernel = ManifestArtifact.From(FileDigest.OfFile(Upload("vmlinuz"))) }).ToJson());
        Stage();
        Booter("4000000", lockdown: "none [integrity] confidentiality").Preflight(checkPrivileges: false);
        Assert.Contains(_reports, r => r.Contains("the staged kernel is signed"));
    }

    [Fact]
    public void ADryRunChecksEverythingAndLoadsNothing()
    {
        Stage();
        Booter("4000000").Boot(dryRun: true);
        Assert.Contains(_reports, r => r.StartsWith("dry run: would load", StringComparison.Ordinal));
    }

    /// <summary>
    /// `--run /run` passes every check (root's, in RAM): the sweep must delete only the helper's own
    /// names there. A real tmpfs folder with another program's pid files, socket and folder (one file
    /// owned by nobody) keeps them; the helper's files, and the temporary one a killed helper left, go.
    /// </summary>
    [Fact]
    public void TheSweepDeletesOnlyTheFilesTheHelperWrote()
    {
        string ram = Path.Combine("/dev/shm/anemos-tests", "run-" + Path.GetFileName(_root));
        Directory.CreateDirectory(ram);
        try
        {
            File.SetUnixFileMode(ram, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            var folder = new Anemos.Kexec.SecretsFolder(ram, _state);
            folder.Ensure();
            string[] foreign = ["sshd.pid", "crond.pid", "initramfs.img.bak", "secrets.cpio.d", ".initramfs.img.note", "nobody.pid"];
            foreach (string name in foreign) File.WriteAllText(Path.Combine(ram, name), "1234\n");
            Assert.Equal(0, ProcessRunner.Run("chown", "nobody", Path.Combine(ram, "nobody.pid")).ExitCode);
            Directory.CreateDirectory(Path.Combine(ram, "systemd"));
            File.WriteAllText(Path.Combine(ram, "systemd", "initramfs.img"), "not ours either\n");
            using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
            socket.Bind(new System.Net.Sockets.UnixDomainSocketEndPoint(Path.Combine(ram, "daemon.sock")));
            string[] own = ["initramfs.img", "secrets.cpio", "host-keys.cpio", $".initramfs.img.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp"];
            foreach (string name in own) File.WriteAllText(Path.Combine(ram, name), "SECRET\n");

            folder.Sweep(keep: Path.Combine(ram, "initramfs.img"));
            Assert.True(File.Exists(Path.Combine(ram, "initramfs.img")), "the staged initramfs was deleted");
            folder.Sweep(keep: null);

            foreach (string name in own) Assert.False(File.Exists(Path.Combine(ram, name)), $"{name} is still there");
            foreach (string name in foreign) Assert.True(File.Exists(Path.Combine(ram, name)), $"the sweep deleted {name}, which the helper did not write");
            Assert.True(File.Exists(Path.Combine(ram, "daemon.sock")), "the sweep deleted another program's socket");
            Assert.True(File.Exists(Path.Combine(ram, "systemd", "initramfs.img")));
        }
        finally
        {
            try { Directory.Delete(ram, recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>
    /// The musl variant (docs/helper.md, "Variants") does a deploy's whole work on the host in a root
    /// that holds no glibc, as on Alpine: the lock, the stage with a secret (hashed by its managed
    /// SHA-256: no libcrypto there), the status, a dry run's checks, the discard and the sweep.
    /// </summary>
    [Fact]
    [EndToEnd(Needs.PackedSdk)] // the packaged helper
    public void TheMuslVariantStagesChecksAndDiscardsInARootWithoutGlibc()
    {
        string ram = Path.Combine("/dev/shm/anemos-tests", "musl-" + Path.GetFileName(_root));
        Directory.CreateDirectory(ram);
        File.SetUnixFileMode(ram, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        using var root = new RootWithoutGlibc(PackagedHelper.FileOf(PackagedHelper.MuslVariant));
        try
        {
            byte[] segment = Anemos.Tasks.Deploy.DeploySecrets.WriteSegment([new("tsig", "dns/tsig.key", "SECRET"u8.ToArray())]);
            HelperResult Helper(byte[]? input, params string[] arguments)
            {
                var result = root.Run("anemos-kexec", _root, ["--json", "--state", _state, "--run", ram, .. arguments], input);
                var reply = Anemos.Tasks.Deploy.HelperClient.ParseReply(result.StandardOutput);
                Assert.True(result.ExitCode == 0 && reply is { Ok: true }, $"{string.Join(' ', arguments)}:\n{result}");
                return reply!;
            }

            Assert.Equal("musl", Helper(null, "hold", "--owner", "ops@laptop", "--facts").Facts!.Libc);
            var staged = Helper(segment, "stage", "--manifest", ManifestPath, "--from", _upload, "--network", "none", "--boot-disk", "none", "--secrets", "-").Staged!;
            Assert.Equal(_manifest.Initramfs.Sha256, staged.ProvenSha256);
            Assert.True(File.Exists(Path.Combine(ram, "initramfs.img")));
            Assert.NotNull(Helper(null, "status").Staged);
            Helper(null, "boot", "--dry-run");
            Helper(null, "discard");
            Assert.Empty(Directory.EnumerateFileSystemEntries(ram));
            Helper(null, "gc");
        }
        finally
        {
            try { Directory.Delete(ram, recursive: true); } catch (IOException) { }
        }
    }

    [Fact]
    [EndToEnd(Needs.PackedSdk)] // the packaged helper
    public void SecretsGoToRamOnlyAndNoneIsLeftAfterADryRunARefusedBootOrADiscard()
    {
        string ram = Path.Combine("/dev/shm/anemos-tests", Path.GetFileName(_root));
        try
        {
            string secret = "SECRET-" + Guid.NewGuid().ToString("N");
            byte[] segment = Anemos.Tasks.Deploy.DeploySecrets.WriteSegment([new("tsig", "dns/tsig.key", Encoding.UTF8.GetBytes(secret))]);
            ProcessResult Helper(byte[]? input, params string[] arguments) =>
                ProcessRunner.Run(PackagedHelper.File, ["--json", "--state", _state, "--run", ram, .. arguments], standardInput: input);
            ProcessResult StageWithSecrets() => Helper(segment, "stage", "--manifest", ManifestPath, "--from", _upload, "--network", "none", "--boot-disk", "none", "--secrets", "-");
            void AssertNoSecretUnder(string folder)
            {
                foreach (string file in Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories))
                    Assert.False(File.ReadAllBytes(file).AsSpan().IndexOf(Encoding.UTF8.GetBytes(secret)) >= 0, $"the secret is in {file}");
            }

            var staged = StageWithSecrets();
            Assert.True(staged.ExitCode == 0, staged.ToString());
            // Staged: the initramfs with the secret lives in RAM only, its entry a 0600 file.
            string initramfs = Path.Combine(ram, "initramfs.img");
            string image = Encoding.Latin1.GetString(File.ReadAllBytes(initramfs));
            var entry = System.Text.RegularExpressions.Regex.Match(image, @"070701[0-9A-Fa-f]{8}([0-9A-Fa-f]{8})[0-9A-Fa-f]{88}anemos/secrets/dns/tsig\.key");
            Assert.True(entry.Success, "no secrets/dns/tsig.key entry in the staged initramfs");
            Assert.Equal(0x8180, Convert.ToInt32(entry.Groups[1].Value, 16)); // regular file, 0600
            Assert.Contains(secret, image);
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(initramfs));
            Assert.Equal(["initramfs.img"], Directory.EnumerateFiles(ram).Select(Path.GetFileName));
            Assert.False(File.Exists(Path.Combine(_state, "staged", "proven.img")));
            AssertNoSecretUnder(_root);

            // A dry run keeps them for the boot that follows; `discard` (what a dry-run deploy ends with) deletes them.
            Assert.Equal(0, Helper(null, "boot", "--dry-run").ExitCode);
            Assert.True(File.Exists(initramfs));
            var discard = Helper(null, "discard");
            Assert.True(discard.ExitCode == 0, discard.ToString());
            Assert.Empty(Directory.EnumerateFileSystemEntries(ram));
            AssertNoSecretUnder(_root);

            // A refused boot (too little memory, read from a fake /proc) deletes them before it answers.
            Assert.Equal(0, StageWithSecrets().ExitCode);
            Booter("20000");
            var refused = Helper(null, "--root", Path.Combine(_root, "fake-root"), "boot");
            Assert.Equal(1, refused.ExitCode);
            Assert.Contains("ANEMOS5013", refused.StandardOutput);
            Assert.Empty(Directory.EnumerateFileSystemEntries(ram));
            Assert.False(File.Exists(Path.Combine(_state, "staged", "state.json")));
            AssertNoSecretUnder(_root);

            // What an older helper or a cut deploy left is removed by the next command that takes the lock.
            File.WriteAllBytes(Upload("secrets.cpio"), segment);
            File.WriteAllBytes(Path.Combine(ram, "initramfs.img"), segment);
            Assert.Equal(0, Helper(null, "gc").ExitCode);
            Assert.Empty(Directory.EnumerateFileSystemEntries(ram));
            AssertNoSecretUnder(_root);

            // A folder on a disk is refused: the secrets would reach it.
            var onDisk = ProcessRunner.Run(PackagedHelper.File, ["--json", "--state", _state, "--run", Path.Combine(_root, "run"), "stage", "--manifest", ManifestPath, "--from", _upload, "--secrets", "-"], standardInput: segment);
            Assert.Equal(1, onDisk.ExitCode);
            Assert.Contains("ANEMOS5019", onDisk.StandardOutput);
            AssertNoSecretUnder(_root);
        }
        finally
        {
            try { Directory.Delete(ram, recursive: true); } catch (IOException) { }
        }
    }

    [Fact]
    [EndToEnd(Needs.PackedSdk)] // the packaged helper
    public void TheHostKeysTravelInRamOnlyAsTheirOwnSegmentAndNeverUnderTheStateFolder()
    {
        string ram = Path.Combine("/dev/shm/anemos-tests", Path.GetFileName(_root));
        string root = Path.Combine(_root, "host-root");
        Directory.CreateDirectory(Path.Combine(root, "etc", "ssh"));
        try
        {
            string key = Path.Combine(root, "etc", "ssh", "ssh_host_ed25519_key");
            var keygen = ProcessRunner.Run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key);
            Assert.True(keygen.ExitCode == 0, keygen.ToString());
            File.WriteAllText(Path.Combine(root, "etc", "ssh", "ssh_host_rsa_key"), "not a key\n");
            byte[] secretPart = File.ReadAllBytes(key).AsSpan(40, 40).ToArray();
            ProcessResult Helper(params string[] arguments) =>
                ProcessRunner.Run(PackagedHelper.File, ["--json", "--state", _state, "--run", ram, "--root", root, .. arguments]);
            string[] stage = ["stage", "--manifest", ManifestPath, "--from", _upload, "--network", "none", "--boot-disk", "none"];

            var staged = Helper(stage);
            Assert.True(staged.ExitCode == 0, staged.ToString());
            string initramfs = Path.Combine(ram, "initramfs.img");
            string image = Encoding.Latin1.GetString(File.ReadAllBytes(initramfs));
            var folder = System.Text.RegularExpressions.Regex.Match(image, @"070701[0-9A-Fa-f]{8}([0-9A-Fa-f]{8})[0-9A-Fa-f]{88}anemos/ssh\0");
            var file = System.Text.RegularExpressions.Regex.Match(image, @"070701[0-9A-Fa-f]{8}([0-9A-Fa-f]{8})[0-9A-Fa-f]{88}anemos/ssh/ssh_host_ed25519_key\0");
            Assert.True(folder.Success && file.Success, "no anemos/ssh/ssh_host_ed25519_key in the staged initramfs");
            Assert.Equal((0x41C0, 0x8180), (Convert.ToInt32(folder.Groups[1].Value, 16), Convert.ToInt32(file.Groups[1].Value, 16))); // 0700, 0600
            Assert.DoesNotContain("anemos/ssh/ssh_host_rsa_key", image); // not a private key
            Assert.Contains("\"host-keys\"", File.ReadAllText(Path.Combine(_state, "staged", "state.json")));
            Assert.Equal(["initramfs.img"], Directory.EnumerateFiles(ram).Select(Path.GetFileName));
            foreach (string written in Directory.EnumerateFiles(_state, "*", SearchOption.AllDirectories))
                Assert.False(File.ReadAllBytes(written).AsSpan().IndexOf(secretPart) >= 0, $"the host key is in {written}");

            // Like the secrets: gone after `discard`; and with --host-keys none the initramfs stays where it did before.
            Assert.Equal(0, Helper("discard").ExitCode);
            Assert.Empty(Directory.EnumerateFileSystemEntries(ram));
            var without = Helper([.. stage, "--host-keys", "none"]);
            Assert.True(without.ExitCode == 0, without.ToString());
            Assert.True(File.Exists(Path.Combine(_state, "staged", "initramfs.img")));
            Assert.DoesNotContain("anemos/ssh", Encoding.Latin1.GetString(File.ReadAllBytes(Path.Combine(_state, "staged", "initramfs.img"))));
        }
        finally
        {
            try { Directory.Delete(ram, recursive: true); } catch (IOException) { }
        }
    }

    [Fact]
    [EndToEnd(Needs.PackedSdk)] // the packaged helper
    public async Task ADownloadThatNeverEndsStopsAtTheManifestsSizeAndIsRefused()
    {
        await using var server = new LoopbackHttpsServer(_root);
        await server.StartAsync();
        string url = server.ServeEndless("/base.img");
        File.Delete(Upload("base.img"));
        File.WriteAllText(ManifestPath, (_manifest with { Base = _manifest.Base with { Url = url } }).ToJson());

        // Only the test's certificate is trusted, through the packaged helper's OpenSSL.
        var result = ProcessRunner.Run(PackagedHelper.File, ["--json", "--state", _state, "stage", "--manifest", ManifestPath, "--from", _upload, "--network", "none", "--boot-disk", "none"],
            environment: new Dictionary<string, string?> { ["SSL_CERT_FILE"] = server.CertificateFile, ["SSL_CERT_DIR"] = Path.Combine(_root, "no-other-certificates") },
            timeout: TimeSpan.FromMinutes(3));
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("ANEMOS5004", result.StandardOutput);
        Assert.Contains($"({_manifest.Base.Size + 1} bytes) but the manifest names", result.StandardOutput);
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(_state, "tmp")));
        Assert.False(File.Exists(Path.Combine(_state, "staged", "state.json")));
    }
}
