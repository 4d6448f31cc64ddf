using System.Text;
using Anemos.Core.Initramfs;
using Grammar = Anemos.Core.Initramfs.DeployInitContract.BootDiskGrammar;

namespace Anemos.Tasks.Rehearse;

/// <summary>
/// The initramfs a rehearsal boots: the host's own, untouched, then the segments the helper appends
/// on the host (the network snapshot /anemos/network.conf, the boot disk /anemos/boot-disk), then
/// the rehearsal's own /anemos/rehearse.env (the mirror) and the secrets. The build's artifacts
/// stay as they are: everything is written in the work folder, or with secrets in their private
/// temporary folder, never in obj/.
/// </summary>
public sealed class RehearsalInitramfs
{
    public required string InitramfsFile { get; init; }
    public required string WorkDirectory { get; init; }
    /// <summary>Where relative NetworkConfig and BootDisk paths start.</summary>
    public required string ProjectDirectory { get; init; }
    /// <summary>AnemosRehearseNetworkConfig: a network snapshot file (docs/overlay.md); empty for DHCP.</summary>
    public string? NetworkConfig { get; init; }
    /// <summary>AnemosRehearseBootDisk: a boot disk file, none, or empty for the first disk unless the host has a TargetDisk.</summary>
    public string? BootDisk { get; init; }
    public string? TargetDisk { get; init; }
    public RehearsalMirror? Mirror { get; init; }
    public string MirrorVariable { get; init; } = "MIRROR";
    public RehearsalSecrets? Secrets { get; init; }

    /// <summary>The file to boot: the host's initramfs itself when nothing is appended.</summary>
    public string Assemble(CancellationToken cancellationToken)
    {
        var segments = new List<string>();
        if (!string.IsNullOrEmpty(NetworkConfig))
        {
            string networkConfig = Path.GetFullPath(NetworkConfig, ProjectDirectory);
            if (!File.Exists(networkConfig)) throw new AnemosException(Diagnostics.RehearseNetworkConfigMissing, networkConfig);
            string segment = Path.Combine(WorkDirectory, "network.cpio");
            HostSegments.WriteNetworkConf(segment, File.ReadAllBytes(networkConfig));
            segments.Add(segment);
        }
        if (BootDiskFile() is { } bootDisk)
        {
            string segment = Path.Combine(WorkDirectory, "boot-disk.cpio");
            HostSegments.WriteBootDisk(segment, bootDisk);
            segments.Add(segment);
        }
        string rehearseSegment = Path.Combine(WorkDirectory, "rehearse.cpio");
        File.Delete(rehearseSegment);
        if (Mirror is not null)
        {
            CheckVariableName(MirrorVariable);
            // Sourced by the deploy init: quoted as host.env is, so nothing in the URL runs in the VM.
            HostSegments.WriteRehearseEnv(rehearseSegment,
                Encoding.UTF8.GetBytes("# Anemos rehearsal only: overrides host variables in the VM\n" + ShellQuoting.Assignment(MirrorVariable, Mirror.GuestUrl)));
            segments.Add(rehearseSegment);
        }
        if (Secrets is not null) segments.Add(Secrets.Segment);
        string initramfs = Path.Combine(Secrets?.Folder ?? WorkDirectory, "initramfs.img");
        File.Delete(Path.Combine(WorkDirectory, "initramfs.img"));
        if (segments.Count == 0) return InitramfsFile;
        InitramfsLayout.AssembleFile(InitramfsFile, segments, initramfs, cancellationToken);
        return initramfs;
    }

    /// <summary>ANEMOS3129 unless <paramref name="name"/> is a variable a host may set (the rule of host variables, ANEMOS1007 and 1008).</summary>
    public static void CheckVariableName(string name)
    {
        if (!ShellQuoting.IsIdentifier(name) || ResolveAnemosHosts.IsReservedVariable(name))
            throw new AnemosException(Diagnostics.RehearseMirrorVariableInvalid, name);
    }

    /// <summary>The /anemos/boot-disk bytes: the given file, or without a TargetDisk the first rehearsal disk, as on a server that booted from it.</summary>
    byte[]? BootDiskFile()
    {
        if (BootDisk is { Length: > 0 } && BootDisk != "none")
        {
            string file = Path.GetFullPath(BootDisk, ProjectDirectory);
            if (!File.Exists(file)) throw new AnemosException(Diagnostics.RehearseBootDiskMissing, file);
            return File.ReadAllBytes(file);
        }
        if (string.IsNullOrEmpty(BootDisk) && string.IsNullOrEmpty(TargetDisk))
            return Encoding.UTF8.GetBytes($"{Grammar.Header}\n{Grammar.Serial} {RehearsalDisks.SerialOf(0)}\n");
        return null;
    }
}
