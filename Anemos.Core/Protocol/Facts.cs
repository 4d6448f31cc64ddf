namespace Anemos.Core.Protocol;

/// <summary>Everything a deploy needs to decide, in one answer (`anemos-kexec facts --json`).</summary>
public sealed record Facts
{
    public required string HelperVersion { get; init; }
    public required string Architecture { get; init; }
    public string? KernelRelease { get; init; }
    public required string Libc { get; init; }
    public bool Root { get; init; }
    public long MemTotalBytes { get; init; }
    public long MemAvailableBytes { get; init; }
    public required KexecFacts Kexec { get; init; }
    public string? Lockdown { get; init; }
    /// <summary><see cref="FirmwareNames.Uefi"/> when the host booted through UEFI (/sys/firmware/efi), else <see cref="FirmwareNames.Bios"/>; null from a helper too old to say.</summary>
    public string? Firmware { get; init; }
    /// <summary>The firmware's SecureBoot variable: false under BIOS, null under UEFI when it cannot be read.</summary>
    public bool? SecureBoot { get; init; }
    public required string InitSystem { get; init; }
    public required string[] ConsoleArguments { get; init; }
    public required string StateDirectory { get; init; }
    public long? StateFreeBytes { get; init; }
    public required string[] CachedSha256 { get; init; }
    /// <summary>The helper can fetch https URLs itself (the host has libssl).</summary>
    public bool HttpsAvailable { get; init; }
    public required NetworkSnapshot Network { get; init; }
    /// <summary>The disk holding /, with its stable identity; null when it cannot be told.</summary>
    public BootDiskFact? BootDisk { get; init; }
}

public sealed record KexecFacts
{
    /// <summary>/proc/sys/kernel/kexec_load_disabled: once 1, no kexec until the next boot.</summary>
    public bool? LoadDisabled { get; init; }
    /// <summary>/sys/kernel/kexec_loaded: a kernel is loaded and waits for the handover.</summary>
    public bool? Loaded { get; init; }
    /// <summary>CONFIG_KEXEC_FILE from the kernel's config, where readable.</summary>
    public bool? FileLoadConfigured { get; init; }
    public bool? SignatureRequired { get; init; }
}

/// <summary>The firmware names the facts, deploy.json and the host's Firmware metadata share.</summary>
public static class FirmwareNames
{
    public const string Uefi = "uefi", Bios = "bios";
}
