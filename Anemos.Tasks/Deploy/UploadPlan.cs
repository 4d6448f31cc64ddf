using Anemos.Core.Hashing;
using Anemos.Core.Manifest;

namespace Anemos.Tasks.Deploy;

/// <summary>One file the deploy sends: to STATE/upload/<see cref="Name"/>, proven there by <see cref="Digest"/>.</summary>
public sealed record PlannedUpload(string Name, string LocalPath, FileDigest Digest)
{
    /// <summary>What it is (kernel, base, overlay, manifest), for the deploy's output.</summary>
    public string What { get; init; } = Name;
}

/// <summary>This build's files for the host: the artifacts the manifest names, and the manifest itself.</summary>
public sealed record DeployFiles(string Kernel, string Base, string Overlay, string Manifest, FileDigest ManifestDigest);

/// <summary>
/// What a deploy sends (docs/deploy.md, plan): each of kernel, base and overlay is cached on the
/// host (by sha256), fetched by the host itself (it has a URL and the host has https), or uploaded
/// under its sha256. The manifest always travels. A pure function of the manifest and the host's facts.
/// </summary>
public sealed record UploadPlan(IReadOnlyList<PlannedUpload> Uploads, IReadOnlyList<string> Notes)
{
    /// <summary>The bytes the host fetches itself (artifacts with a URL it is not caching yet).</summary>
    public IReadOnlyList<long> FetchedSizes { get; init; } = [];

    /// <summary>Everything that arrives in the host's state folder for this stage: uploads and fetches.</summary>
    public IEnumerable<long> ArrivingSizes => Uploads.Select(u => u.Digest.Size).Concat(FetchedSizes);

    public static UploadPlan Create(AnemosManifest manifest, DeployFiles files, IReadOnlyCollection<string> cachedSha256, bool hostFetchesHttps, int secretCount)
    {
        var uploads = new List<PlannedUpload>();
        var notes = new List<string>();
        var fetched = new List<long>();
        foreach (var (name, path, artifact) in new[] { ("kernel", files.Kernel, manifest.Kernel), ("base", files.Base, manifest.Base), ("overlay", files.Overlay, manifest.Overlay) })
        {
            if (cachedSha256.Contains(artifact.Sha256)) notes.Add($"{name} cached");
            else if (artifact.Url is not null && hostFetchesHttps)
            {
                notes.Add($"{name} fetched by the host from {artifact.Url}");
                fetched.Add(artifact.Size);
            }
            else
            {
                uploads.Add(new PlannedUpload(artifact.Sha256, path, new FileDigest(artifact.Sha256, artifact.Size)) { What = name });
                // Why it travels, when it could have been fetched: the host has no libssl for https.
                string why = artifact.Url is null ? "" : ": the host cannot fetch https";
                notes.Add($"{name} to upload ({ByteSize.Format(artifact.Size)}{why})");
            }
        }
        uploads.Add(new PlannedUpload(ManifestName, files.Manifest, files.ManifestDigest) { What = "manifest" });
        notes.Add("manifest to upload");
        if (secretCount > 0) notes.Add($"{secretCount} secret(s)");
        return new UploadPlan(uploads, notes) { FetchedSizes = fetched };
    }

    /// <summary>The manifest's name in the upload folder, where `stage --manifest` reads it.</summary>
    public const string ManifestName = "manifest.json";

    public string Summary => string.Join(", ", Notes);

    /// <summary>What the upload phase sent, file by file: "overlay 18.0 KiB, manifest 1.2 KiB".</summary>
    public string UploadSummary => string.Join(", ", Uploads.Select(u => $"{u.What} {ByteSize.Format(u.Digest.Size)}"));
}
