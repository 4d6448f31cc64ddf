using Anemos.Core.Protocol;

namespace Anemos.Tasks.Deploy;

/// <summary>
/// What the helper's facts say of the host's firmware (docs/deploy.md, "Firmware"): shown in the
/// facts phase, recorded in deploy.json for the rehearsal's auto firmware, compared with the host's
/// Firmware metadata, and the one refusal it leads to. A host with Secure Boot on would accept the
/// signed installer kernel, and the install would then leave a disk whose unsigned GRUB the
/// firmware refuses: refused before anything is uploaded, never found out after the wipe.
/// </summary>
public static class FirmwareFacts
{
    const string Uefi = FirmwareNames.Uefi, Bios = FirmwareNames.Bios;

    /// <summary>"uefi", "uefi, Secure Boot on", "bios"; "unknown" from a helper too old to say.</summary>
    public static string Describe(Facts facts) => facts.Firmware switch
    {
        Uefi => facts.SecureBoot switch { true => "uefi, Secure Boot on", false => Uefi, null => "uefi, Secure Boot unknown" },
        null => "unknown",
        var firmware => firmware,
    };

    /// <summary>ANEMOS4045 when the host's firmware has Secure Boot on; an unknown state is not refused.</summary>
    public static void RefuseSecureBoot(Facts facts, string host)
    {
        if (facts.SecureBoot == true) throw new AnemosException(Diagnostics.HostSecureBootOn, host);
    }

    /// <summary>
    /// The arguments of ANEMOS4046 when the host's Firmware metadata names the other firmware than the
    /// facts; null when they agree, either is unknown, or the metadata is empty (auto follows the facts).
    /// </summary>
    public static object[]? Disagreement(Facts facts, string? hostFirmware, string hostName)
    {
        string declared = (hostFirmware ?? "").Trim().ToLowerInvariant();
        if (facts.Firmware is not (Uefi or Bios) || declared is not (Uefi or Bios) || declared == facts.Firmware) return null;
        return [hostName, declared, facts.Firmware];
    }
}
