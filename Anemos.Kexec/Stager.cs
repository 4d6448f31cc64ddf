using Anemos.Core;
using Anemos.Core.Download;
using Anemos.Core.Hashing;
using Anemos.Core.Initramfs;
using Anemos.Core.Manifest;
using Anemos.Core.Protocol;

namespace Anemos.Kexec;

/// <summary>
/// `stage`: takes every artifact a manifest names through the <see cref="ArtifactCache"/> (the cache, a folder or its https URL),
/// proves each sha256 and size, assembles the initramfs with the build's own code and proves its
/// sha256 before it counts as staged; then appends the host-side segments (network snapshot,
/// boot disk, a TargetDisk by kernel name, extra segments, the host's ssh keys, the deploy's secrets). Nothing half-written is ever taken as staged: state.json is
/// removed first and written last. An initramfs with host keys or secrets is written to the secrets folder in
/// RAM, never under the state folder.
/// </summary>
public sealed class Stager(string stateDirectory, Action<string> report, SecretsFolder? secretsFolder = null)
{
    public string CacheDirectory => Path.Combine(stateDirectory, HelperStateLayout.Cache);
    public string StagedDirectory => Path.Combine(stateDirectory, HelperStateLayout.Staged);
    public string StatePath => Path.Combine(stateDirectory, HelperStateLayout.StagedState);
    string TemporaryDirectory => Path.Combine(stateDirectory, HelperStateLayout.Temporary);
    readonly ArtifactCache _cache = new(stateDirectory, report);

    public StagedState Stage(string manifestPath, string? fromDirectory, string? networkConf, IReadOnlyList<string> extraSegments, string[] consoleArguments, string? bootDisk = null, string? secretsSegment = null, string? hostKeysSegment = null, LoginKeys.Found? loginKeys = null, string? targetDisk = null)
    {
        if (!File.Exists(manifestPath)) throw new HelperException(HelperCodes.ManifestInvalid, $"The manifest {manifestPath} does not exist.");
        byte[] manifestBytes = File.ReadAllBytes(manifestPath);
        AnemosManifest manifest;
        try { manifest = AnemosManifest.Parse(System.Text.Encoding.UTF8.GetString(manifestBytes)); }
        catch (InvalidDataException e) { throw new HelperException(HelperCodes.ManifestInvalid, $"The manifest {manifestPath} cannot be used: {e.Message} Build it again with the same Anemos.Sdk."); }

        Directory.CreateDirectory(CacheDirectory);
        Directory.CreateDirectory(StagedDirectory);
        Directory.CreateDirectory(TemporaryDirectory);
        // Unstaged from here until everything is proven again.
        AtomicFile.TryDelete(StatePath);

        string kernel = _cache.EnsureCached("kernel", manifest.Kernel, fromDirectory);
        string @base = _cache.EnsureCached("base", manifest.Base, fromDirectory);
        string overlay = _cache.EnsureCached("overlay", manifest.Overlay, fromDirectory);

        // The base is not read again: its hash resumes from the state kept when it was proven, so
        // only its last partial block and the overlay are hashed here (the kernel copies the rest).
        string proven = Path.Combine(StagedDirectory, "proven.img");
        var (provenDigest, provenState) = InitramfsLayout.AssembleFileKeepingState(@base, _cache.BaseState(@base, manifest.Base), [overlay], proven);
        if (provenDigest.Sha256 != manifest.Initramfs.Sha256 || provenDigest.Size != manifest.Initramfs.Size)
        {
            AtomicFile.TryDelete(proven);
            throw new HelperException(HelperCodes.InitramfsNotProven,
                $"The assembled initramfs has sha256 {provenDigest.Sha256} ({provenDigest.Size} bytes) but the manifest names {manifest.Initramfs.Sha256} ({manifest.Initramfs.Size} bytes). The base and overlay do not belong together; build and deploy again.");
        }
        report($"proven initramfs {provenDigest.ShortSha256} ({provenDigest.Size} bytes)");

        var segments = new List<string>();
        var segmentNames = new List<string>();
        if (networkConf is not null)
        {
            string segment = Path.Combine(StagedDirectory, "network.cpio");
            HostSegments.WriteNetworkConf(segment, System.Text.Encoding.UTF8.GetBytes(networkConf));
            segments.Add(segment);
            segmentNames.Add("network");
        }
        if (bootDisk is not null)
        {
            string segment = Path.Combine(StagedDirectory, "boot-disk.cpio");
            HostSegments.WriteBootDisk(segment, System.Text.Encoding.UTF8.GetBytes(bootDisk));
            segments.Add(segment);
            segmentNames.Add("boot-disk");
        }
        if (targetDisk is not null)
        {
            string segment = Path.Combine(StagedDirectory, "target-disk.cpio");
            HostSegments.WriteTargetDisk(segment, System.Text.Encoding.UTF8.GetBytes(targetDisk));
            segments.Add(segment);
            segmentNames.Add("target-disk");
        }
        if (loginKeys is { Lines.Count: > 0 })
        {
            string segment = Path.Combine(StagedDirectory, "login-keys.cpio");
            HostSegments.WriteLoginKeys(segment, loginKeys.ToFile());
            segments.Add(segment);
            segmentNames.Add("login-keys");
        }
        foreach (string extra in extraSegments)
        {
            if (!File.Exists(extra) || !Anemos.Core.FileMagic.IsNewc(extra))
                throw new HelperException(HelperCodes.SegmentInvalid, $"The segment {extra} is not a newc cpio archive. Pass a file that starts with 070701.");
            segments.Add(extra);
            segmentNames.Add(Path.GetFileName(extra));
        }
        string initramfs = Path.Combine(StagedDirectory, "initramfs.img");
        // The host keys and the secrets live in RAM only, and so does the initramfs that carries either.
        foreach (var (segment, name) in new[] { (hostKeysSegment, "host-keys"), (secretsSegment, "secrets") })
        {
            if (segment is null) continue;
            var folder = secretsFolder ?? throw new InvalidOperationException($"A {name} segment needs the secrets folder.");
            segments.Add(segment);
            segmentNames.Add(name);
            initramfs = folder.InitramfsPath;
        }

        // The proven part is appended to or renamed: it never stays behind.
        FileDigest finalDigest;
        if (segments.Count == 0) finalDigest = CopyAs(proven, initramfs, provenDigest);
        else
        {
            AtomicFile.TryDelete(Path.Combine(StagedDirectory, "initramfs.img"));
            finalDigest = InitramfsLayout.AssembleFile(proven, provenState, segments, initramfs);
            AtomicFile.TryDelete(proven);
        }

        string commandLine = string.Join(' ', new[] { manifest.CommandLine }
            .Concat(consoleArguments.Where(a => !manifest.CommandLine.Split(' ').Contains(a)))
            .Where(a => a.Length > 0));
        var state = new StagedState
        {
            Host = manifest.Host,
            ManifestSha256 = FileDigest.OfBytes(manifestBytes).Sha256,
            KernelPath = kernel,
            KernelSha256 = manifest.Kernel.Sha256,
            InitramfsPath = initramfs,
            ProvenSha256 = provenDigest.Sha256,
            ProvenSize = provenDigest.Size,
            InitramfsSha256 = finalDigest.Sha256,
            InitramfsSize = finalDigest.Size,
            CommandLine = commandLine,
            Segments = segmentNames.ToArray(),
            LoginKeys = loginKeys?.Summary,
            StagedAt = DateTimeOffset.UtcNow.ToString("O"),
        };
        File.WriteAllBytes(Path.Combine(stateDirectory, HelperStateLayout.StagedManifest), manifestBytes);
        AtomicFile.Write(StatePath, stream => System.Text.Json.JsonSerializer.Serialize(stream, state, HelperJsonContext.Default.StagedState), durable: true);
        report($"staged host {manifest.Host}: initramfs {finalDigest.ShortSha256} ({finalDigest.Size} bytes), command line '{commandLine}'");
        return state;
    }

    static FileDigest CopyAs(string source, string destination, FileDigest digest)
    {
        File.Move(source, destination, overwrite: true);
        return digest;
    }
}
