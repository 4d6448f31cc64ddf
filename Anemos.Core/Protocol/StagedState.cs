namespace Anemos.Core.Protocol;

/// <summary>What `stage` proved, written last (staged/state.json): `boot` loads exactly this.</summary>
public sealed record StagedState
{
    public required string Host { get; init; }
    public required string ManifestSha256 { get; init; }
    public required string KernelPath { get; init; }
    public required string KernelSha256 { get; init; }
    public required string InitramfsPath { get; init; }
    /// <summary>The initramfs the manifest names, proven by sha256 before anything was appended.</summary>
    public required string ProvenSha256 { get; init; }
    public required long ProvenSize { get; init; }
    /// <summary>The file kexec loads: the proven part, then the host-side segments.</summary>
    public required string InitramfsSha256 { get; init; }
    public required long InitramfsSize { get; init; }
    public required string CommandLine { get; init; }
    public required string[] Segments { get; init; }
    /// <summary>Whose keys the deploy environment's root takes from the old system (the login-keys segment), or why none; null when not asked.</summary>
    public string? LoginKeys { get; init; }
    public required string StagedAt { get; init; }
}
