namespace Anemos.Tasks.Deploy;

/// <summary>
/// The plan phase's refusal of a deploy kernel built for another machine than the host's (ANEMOS4050):
/// kexec_file_load would refuse it only after the uploads and the stage. The kernel's machine is read
/// from its image (<see cref="Core.KernelMachine"/>), the host's from the helper's facts; either one
/// unknown is not checked.
/// </summary>
public static class KernelMachineCheck
{
    public static void Check(string kernelFile, string? hostArchitecture, string hostDisplay)
    {
        if (Core.KernelMachine.Of(kernelFile) is { } kernel && hostArchitecture is { Length: > 0 } host && kernel != host)
            throw new AnemosException(Diagnostics.KernelMachineDiffers, kernelFile, kernel, hostDisplay, host);
    }
}
