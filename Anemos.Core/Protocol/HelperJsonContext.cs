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
public sealed partial class HelperJsonContext : JsonSerializerContext
{
    /// <summary>
    /// The same JSON on one line: the reply of a command that keeps running after it (`hold`), which
    /// the deploy reads as the command's first line.
    /// </summary>
    public static HelperJsonContext OneLine => s_oneLine ??= new(new System.Text.Json.JsonSerializerOptions(Default.Options) { WriteIndented = false });

    static HelperJsonContext? s_oneLine;
}
