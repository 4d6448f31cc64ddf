namespace Anemos.Core.Protocol;

/// <summary>The one JSON object a command prints with --json.</summary>
public sealed record HelperResult
{
    public required bool Ok { get; init; }
    public string? Code { get; init; }
    public string? Message { get; init; }
    public StagedState? Staged { get; init; }
    public Facts? Facts { get; init; }
    public bool? KexecLoaded { get; init; }
    public string[]? Removed { get; init; }
}
