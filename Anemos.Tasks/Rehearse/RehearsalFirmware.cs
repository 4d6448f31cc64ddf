namespace Anemos.Tasks.Rehearse;

/// <summary>
/// Which firmware a rehearsal's VM has: AnemosRehearseFirmware (bios, uefi, or auto: the host's
/// Firmware metadata, else the firmware the host's last deploy found (deploy.json), else bios).
/// Both phases use it; a UEFI rehearsal gets its own copy of
/// OVMF's variable store in its work folder, kept from the install to the boot as a server keeps
/// its NVRAM.
/// </summary>
public static class RehearsalFirmware
{
    /// <summary>
    /// True for UEFI, false for BIOS; a value other than bios, uefi (or auto, empty) is ANEMOS3127.
    /// <paramref name="deployedFirmware"/>: what the host's last deploy found ("uefi", "bios" or null).
    /// </summary>
    public static bool IsUefi(string? firmware, string? hostFirmware, string hostName, string? deployedFirmware = null)
    {
        // The host's own value is checked even when the property overrides it: a typo is never hidden.
        bool host = Parse(hostFirmware, allowAuto: false) ?? throw Invalid($"The Firmware metadata of host '{hostName}'", hostFirmware!);
        bool chosen = Parse(firmware, allowAuto: true) ?? throw Invalid("AnemosRehearseFirmware", firmware!);
        if (FollowsLastDeploy(firmware, hostFirmware, deployedFirmware)) return deployedFirmware == Core.Protocol.FirmwareNames.Uefi;
        return IsAuto(firmware) ? host : chosen;
    }

    /// <summary>Auto, no Firmware metadata, and a deploy that found the host's firmware: the rehearsal boots that.</summary>
    public static bool FollowsLastDeploy(string? firmware, string? hostFirmware, string? deployedFirmware) =>
        IsAuto(firmware) && string.IsNullOrWhiteSpace(hostFirmware) && deployedFirmware is Core.Protocol.FirmwareNames.Uefi or Core.Protocol.FirmwareNames.Bios;

    static bool IsAuto(string? value) => string.IsNullOrWhiteSpace(value) || value.Trim().Equals("auto", StringComparison.OrdinalIgnoreCase);

    /// <summary>true (uefi), false (bios, or empty/auto where allowed) or null (not a firmware).</summary>
    static bool? Parse(string? value, bool allowAuto) => value?.Trim().ToLowerInvariant() switch
    {
        null or "" => false,
        "auto" when allowAuto => false,
        "bios" => false,
        "uefi" => true,
        _ => null,
    };

    static AnemosException Invalid(string what, string value) => new(Diagnostics.RehearseFirmwareInvalid, what, value);

    /// <summary>OVMF's code and variable template must exist (Debian's ovmf package): ANEMOS3128 otherwise.</summary>
    public static void RequireOvmf(string codeFile, string varsTemplate)
    {
        foreach (string file in (string[])[codeFile, varsTemplate])
            if (!File.Exists(file)) throw new AnemosException(Diagnostics.RehearseOvmfMissing, file);
    }
}
