using System.Text.Json;
using System.Text.Json.Serialization;

namespace Anemos.Core.Manifest;

/// <summary>
/// Everything a host needs to rebuild the deploy initramfs and prove it: each artifact by sha256
/// and size, the command line and the versions that made it. See docs/manifest.md.
/// </summary>
public sealed record AnemosManifest
{
    public const int CurrentSchemaVersion = 1;

    public int SchemaVersion { get; init; } = CurrentSchemaVersion;
    public required string Host { get; init; }
    public required string SdkVersion { get; init; }
    public required ManifestArtifact Kernel { get; init; }
    public required ManifestArtifact Base { get; init; }
    public required ManifestArtifact Payload { get; init; }
    public required ManifestArtifact Overlay { get; init; }
    public required ManifestArtifact Initramfs { get; init; }
    public string OverlayCompression { get; init; } = "none";
    public string CommandLine { get; init; } = "";

    public string ToJson() => JsonSerializer.Serialize(this, ManifestJsonContext.Default.AnemosManifest) + "\n";

    /// <summary>Reads a manifest, refusing unknown schema versions and missing fields with <see cref="InvalidDataException"/>.</summary>
    public static AnemosManifest Parse(string json)
    {
        AnemosManifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize(json, ManifestJsonContext.Default.AnemosManifest);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"The manifest is not valid JSON: {e.Message}", e);
        }
        if (manifest is null) throw new InvalidDataException("The manifest is empty.");
        if (manifest.SchemaVersion != CurrentSchemaVersion)
            throw new InvalidDataException($"The manifest has schema version {manifest.SchemaVersion}; this reader understands {CurrentSchemaVersion}.");
        foreach (var (name, artifact) in manifest.Artifacts())
        {
            if (!Hashing.FileDigest.IsSha256(artifact.Sha256) || artifact.Size < 0)
                throw new InvalidDataException($"The manifest's '{name}' entry has no valid sha256 and size.");
        }
        return manifest;
    }

    public IEnumerable<(string Name, ManifestArtifact Artifact)> Artifacts()
    {
        yield return ("kernel", Kernel);
        yield return ("base", Base);
        yield return ("payload", Payload);
        yield return ("overlay", Overlay);
        yield return ("initramfs", Initramfs);
    }
}

public sealed record ManifestArtifact
{
    public required string Sha256 { get; init; }
    public required long Size { get; init; }
    /// <summary>Where a host may fetch the artifact itself (https), when it came from a URL.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Url { get; init; }

    public static ManifestArtifact From(Hashing.FileDigest digest, string? url = null) => new() { Sha256 = digest.Sha256, Size = digest.Size, Url = url };
}

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(AnemosManifest))]
internal sealed partial class ManifestJsonContext : JsonSerializerContext;
