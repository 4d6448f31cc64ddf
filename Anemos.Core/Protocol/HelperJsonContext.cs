using System.Text.Json.Serialization;

namespace Anemos.Core.Protocol;

/// <summary>
/// The helper protocol's JSON, source-generated (the helper is trimmed): what `anemos-kexec --json`
/// prints, what `stage` writes to staged/state.json, and what the deploy reads back.
/// </summary>
[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(Facts))]
[JsonSerializable(typeof(StagedState))]
[JsonSerializable(typeof(HelperResult))]
[JsonSerializable(typeof(HelperVersionReply))]
public sealed partial class HelperJsonContext : JsonSerializerContext;
