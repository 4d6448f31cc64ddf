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

/// <summary>
/// A facts reply read for its helper version alone: it reads the answer of any helper version, also
/// one whose other facts differ, so a deploy can say which helper it replaces.
/// </summary>
public sealed record HelperVersionReply
{
    public required bool Ok { get; init; }
    public HelperVersionFact? Facts { get; init; }
}

/// <summary>The one fact <see cref="HelperVersionReply"/> reads: named as <see cref="Protocol.Facts.HelperVersion"/>.</summary>
public sealed record HelperVersionFact
{
    public string? HelperVersion { get; init; }
}
