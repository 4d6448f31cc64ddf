namespace Anemos.Tasks.Rehearse;

/// <summary>
/// The VM's firmware: BIOS (SeaBIOS, QEMU's own default, so no arguments) or UEFI (OVMF from
/// Debian's ovmf package, as two pflash drives: the code read-only, the variable store a writable
/// copy per VM, because the guest writes its boot entries there).
/// </summary>
public sealed record QemuFirmware
{
    public const string OvmfCode = "/usr/share/OVMF/OVMF_CODE_4M.fd";
    public const string OvmfVarsTemplate = "/usr/share/OVMF/OVMF_VARS_4M.fd";

    /// <summary>UEFI's code (read-only); null for BIOS.</summary>
    public string? CodeFile { get; }
    /// <summary>UEFI's variable store for this VM; null for BIOS.</summary>
    public string? VarsFile { get; }

    QemuFirmware(string? codeFile, string? varsFile) => (CodeFile, VarsFile) = (codeFile, varsFile);

    public static QemuFirmware Bios { get; } = new(null, null);

    /// <summary>UEFI with <paramref name="varsFile"/> as the VM's variable store (see <see cref="UefiWithFreshVars"/>).</summary>
    public static QemuFirmware Uefi(string varsFile, string codeFile = OvmfCode) => new(codeFile, varsFile);

    /// <summary>
    /// UEFI with a fresh copy of OVMF's empty variable store (<paramref name="varsTemplate"/>) in
    /// <paramref name="folder"/>: a new machine's firmware.
    /// </summary>
    public static QemuFirmware UefiWithFreshVars(string folder, string codeFile = OvmfCode, string varsTemplate = OvmfVarsTemplate)
    {
        string vars = Path.Combine(folder, "OVMF_VARS.fd");
        File.Copy(varsTemplate, vars, overwrite: true);
        return new(codeFile, vars);
    }

    public bool IsUefi => VarsFile is not null;

    public IEnumerable<string> Arguments() => VarsFile is null
        ? []
        : ["-drive", $"if=pflash,format=raw,unit=0,file={CodeFile},readonly=on", "-drive", $"if=pflash,format=raw,unit=1,file={VarsFile}"];
}
