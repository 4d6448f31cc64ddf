using Anemos.Core;
using Anemos.Core.Hashing;
using Microsoft.Build.Framework;

namespace Anemos.Tasks;

/// <summary>
/// Brings a kernel or base initramfs into the build's output: from a local path, or from an
/// https URL through a per-user cache keyed by sha256 (verified before use, shared by every
/// project, safe when two builds download at once). The copy is verified against the expected
/// sha256 when one is given and written atomically with its digest sidecar.
/// </summary>
public sealed class StageAnemosInput : AnemosTask
{
    /// <summary>The property the value came from (AnemosKernel or AnemosBaseInitramfs): named in messages.</summary>
    [Required] public string PropertyName { get; set; } = "";
    [Required] public string Source { get; set; } = "";
    public string? Sha256 { get; set; }
    [Required] public string CacheDirectory { get; set; } = "";
    [Required] public string Destination { get; set; } = "";
    public bool IsInitramfs { get; set; }

    [Output] public string? StagedSha256 { get; set; }
    [Output] public string? Url { get; set; }

    protected override void ExecuteCore()
    {
        string? expected = string.IsNullOrWhiteSpace(Sha256) ? null : Sha256.Trim().ToLowerInvariant();
        if (expected is not null && !FileDigest.IsSha256(expected))
            throw new AnemosException(Diagnostics.InvalidSha256, PropertyName, Sha256);

        string localPath = Source;
        if (Uri.TryCreate(Source, UriKind.Absolute, out var uri) && uri.Scheme is not "file" && Source.Contains("://"))
        {
            if (uri.Scheme != Uri.UriSchemeHttps) throw new AnemosException(Diagnostics.UrlNotHttps, PropertyName, Source);
            if (expected is null) throw new AnemosException(Diagnostics.UrlWithoutSha256, PropertyName, Source);
            localPath = new ArtifactCache(CacheDirectory).Fetch(uri, expected, PropertyName, CancellationToken);
            Url = Source;
        }

        if (!File.Exists(localPath))
            throw new AnemosException(IsInitramfs ? Diagnostics.BaseNotFound : Diagnostics.KernelNotFound, localPath);
        if (IsInitramfs && !Anemos.Core.FileMagic.LooksLikeInitramfs(localPath))
            LogDiagnostic(Diagnostics.BaseNotInitramfs, localPath);

        var digest = AtomicFile.Write(Destination, output =>
        {
            using var input = new FileStream(localPath, FileMode.Open, FileAccess.Read, FileShare.Read, StreamCopy.BufferSize, FileOptions.SequentialScan);
            using var hashing = new HashingStream(output, leaveOpen: true);
            StreamCopy.CopyToEnd(input, hashing, CancellationToken);
            var d = hashing.Digest();
            if (expected is not null && d.Sha256 != expected)
                throw new AnemosException(Diagnostics.Sha256Mismatch, PropertyName, localPath, d.Sha256, expected);
            return d;
        });
        DigestSidecar.Write(Destination, digest);
        StagedSha256 = digest.Sha256;
    }
}
