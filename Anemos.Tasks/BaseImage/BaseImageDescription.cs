using System.Text.Json;

namespace Anemos.Tasks.BaseImage;

/// <summary>
/// base-image.json: what a base image holds. <see cref="BuildAnemosBaseImage"/> writes it,
/// host projects read it through <see cref="CheckAnemosBaseBootstrap"/> and
/// <see cref="ReadAnemosBaseImage"/>. docs/base-image.md describes the format.
/// </summary>
public sealed record BaseImageDescription
{
    public const int CurrentSchemaVersion = 1;
    const string MakeimgEngine = "makeimg";

    public required string Sha256 { get; init; }
    public required long Size { get; init; }
    /// <summary>gzip or zstd.</summary>
    public required string Compression { get; init; }
    /// <summary>The bytes of the base's files: what it takes in RAM unpacked.</summary>
    public required long UnpackedSize { get; init; }
    /// <summary>The release of the kernel modules it carries; empty without modules.</summary>
    public required string KernelRelease { get; init; }
    public string Engine { get; init; } = MakeimgEngine;
    /// <summary>The IMGBUILD targets it can install (<see cref="Bootstrapper.Target"/>), in <see cref="Bootstrapper.All"/>'s order.</summary>
    public required IReadOnlyList<string> Bootstrappers { get; init; }
    /// <summary>The targets whose tools it has but not the keyring (<see cref="Bootstrapper.Keyring"/>): installed only for an IMGBUILD with keys/*.gpg.</summary>
    public IReadOnlyList<string> BootstrappersWithoutKeyring { get; init; } = [];
    public required bool HasBusybox { get; init; }
    /// <summary>Kernel module names, in load order.</summary>
    public required IReadOnlyList<string> Modules { get; init; }

    public bool CanBootstrap(string target) => Bootstrappers.Contains(target, StringComparer.Ordinal);

    /// <summary>The file's bytes: indented JSON, its properties in a fixed order, and a final newline (byte-identical for the same base).</summary>
    public byte[] ToJson()
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteNumber("schemaVersion", CurrentSchemaVersion);
            json.WriteString("sha256", Sha256);
            json.WriteNumber("size", Size);
            json.WriteString("compression", Compression);
            json.WriteNumber("unpackedSize", UnpackedSize);
            json.WriteString("kernelRelease", KernelRelease);
            json.WriteString("engine", Engine);
            json.WriteStartArray("bootstrappers");
            foreach (string target in Bootstrappers) json.WriteStringValue(target);
            json.WriteEndArray();
            json.WriteStartArray("bootstrappersWithoutKeyring");
            foreach (string target in BootstrappersWithoutKeyring) json.WriteStringValue(target);
            json.WriteEndArray();
            json.WriteBoolean("hasBusybox", HasBusybox);
            json.WriteStartArray("modules");
            foreach (string module in Modules) json.WriteStringValue(module);
            json.WriteEndArray();
            json.WriteEndObject();
        }
        buffer.WriteByte((byte)'\n');
        return buffer.ToArray();
    }

    /// <summary>Reads a description; ANEMOS1016 when the file is missing, not JSON, of another schema or lacks a field.</summary>
    public static BaseImageDescription Read(string path)
    {
        if (!File.Exists(path)) throw Unreadable(path, "does not exist");
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(path));
            var root = document.RootElement;
            int schema = root.GetProperty("schemaVersion").GetInt32();
            if (schema != CurrentSchemaVersion) throw Unreadable(path, $"has schemaVersion {schema}, and this SDK reads {CurrentSchemaVersion}");
            return new BaseImageDescription
            {
                Sha256 = root.GetProperty("sha256").GetString()!,
                Size = root.GetProperty("size").GetInt64(),
                Compression = root.GetProperty("compression").GetString()!,
                UnpackedSize = root.GetProperty("unpackedSize").GetInt64(),
                KernelRelease = root.GetProperty("kernelRelease").GetString()!,
                Engine = root.GetProperty("engine").GetString()!,
                Bootstrappers = [.. root.GetProperty("bootstrappers").EnumerateArray().Select(e => e.GetString()!)],
                // Absent from the descriptions of earlier SDKs, which did not look for keyrings.
                BootstrappersWithoutKeyring = root.TryGetProperty("bootstrappersWithoutKeyring", out var keyless) ? [.. keyless.EnumerateArray().Select(e => e.GetString()!)] : [],
                HasBusybox = root.GetProperty("hasBusybox").GetBoolean(),
                Modules = [.. root.GetProperty("modules").EnumerateArray().Select(e => e.GetString()!)],
            };
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw Unreadable(path, $"is not a base image description ({e.Message})");
        }
    }

    static AnemosException Unreadable(string path, string why) => new(Diagnostics.BaseDescriptionUnreadable, path, why);
}
