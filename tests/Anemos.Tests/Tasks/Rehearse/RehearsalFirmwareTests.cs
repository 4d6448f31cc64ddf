using Anemos.Tasks;
using Anemos.Tasks.Rehearse;

namespace Anemos.Tests.Tasks.Rehearse;

/// <summary>
/// The rehearsal's firmware: AnemosRehearseFirmware (bios, uefi, auto) over the host's Firmware
/// metadata, bios when neither says; a bad value is ANEMOS3127, missing OVMF files ANEMOS3128.
/// </summary>
public sealed class RehearsalFirmwareTests
{
    [Theory]
    [InlineData("auto", "", false)]
    [InlineData("", null, false)]
    [InlineData("auto", "uefi", true)]
    [InlineData("auto", "bios", false)]
    [InlineData("AUTO", " UEFI ", true)]
    [InlineData("uefi", "", true)]
    [InlineData("uefi", "bios", true)]
    [InlineData("bios", "uefi", false)]
    public void ThePropertyWinsAndAutoFollowsTheHost(string property, string? host, bool uefi) =>
        Assert.Equal(uefi, RehearsalFirmware.IsUefi(property, host, "x"));

    [Theory]
    [InlineData("auto", "", "uefi", true, true)]
    [InlineData("", null, "bios", false, true)]
    [InlineData("auto", "bios", "uefi", false, false)] // the metadata is the operator's word
    [InlineData("bios", "", "uefi", false, false)] // and so is the property
    [InlineData("auto", "", null, false, false)]
    public void WithoutMetadataAutoFollowsTheFirmwareTheLastDeployFound(string property, string? host, string? deployed, bool uefi, bool followed)
    {
        Assert.Equal(uefi, RehearsalFirmware.IsUefi(property, host, "x", deployed));
        Assert.Equal(followed, RehearsalFirmware.FollowsLastDeploy(property, host, deployed));
    }

    [Theory]
    [InlineData("efi", "", "AnemosRehearseFirmware is 'efi'")]
    [InlineData("auto", "auto", "The Firmware metadata of host 'x' is 'auto'")]
    [InlineData("bios", "coreboot", "The Firmware metadata of host 'x' is 'coreboot'")]
    public void ABadValueIsACodedError(string property, string host, string message)
    {
        var error = Assert.Throws<AnemosException>(() => RehearsalFirmware.IsUefi(property, host, "x"));
        Assert.Equal("ANEMOS3127", error.Diagnostic.Code);
        Assert.Contains(message, error.Message);
    }

    [Fact]
    public void MissingOvmfFilesNameThePackage()
    {
        var error = Assert.Throws<AnemosException>(() => RehearsalFirmware.RequireOvmf("/nonexistent/OVMF_CODE_4M.fd", "/nonexistent/OVMF_VARS_4M.fd"));
        Assert.Equal("ANEMOS3128", error.Diagnostic.Code);
        Assert.Contains("'/nonexistent/OVMF_CODE_4M.fd'", error.Message);
        Assert.Contains("apt-get install ovmf", error.Message);
    }

    [Fact]
    public void BothPhasesBootWithTheSameFirmwareAndVariableStore()
    {
        var vm = new RehearsalVm { HostName = "x", Qemu = "qemu-system-x86_64", Accelerator = "tcg", MemoryMiB = 512, KernelFile = "/k/vmlinuz", Firmware = QemuFirmware.Uefi("/w/OVMF_VARS.fd", "/o/CODE.fd") };
        string[] pflash = ["-drive", "if=pflash,format=raw,unit=0,file=/o/CODE.fd,readonly=on", "-drive", "if=pflash,format=raw,unit=1,file=/w/OVMF_VARS.fd"];

        var install = vm.InstallCommand(["/w/disk0.img"], "/w/initramfs.img", null).Arguments().ToArray();
        var boot = vm.BootCommand("/w/disk0.img", null, 2222).Arguments().ToArray();

        Assert.Equal(pflash, install.SkipWhile(a => a != "-drive").Take(4));
        Assert.Equal(pflash, boot.SkipWhile(a => a != "-drive").Take(4));
    }
}
