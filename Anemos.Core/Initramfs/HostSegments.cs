using Anemos.Core.Cpio;

namespace Anemos.Core.Initramfs;

/// <summary>
/// Segments appended on the host after the proven part of the initramfs (docs/overlay.md): the
/// helper writes them from the running system, a rehearsal from the project. One writer for both.
/// </summary>
public static class HostSegments
{
    public const string NetworkConfPath = DeployInitContract.NetworkConf;
    public const string BootDiskPath = DeployInitContract.BootDisk;
    public const string RehearseEnvPath = DeployInitContract.RehearseEnv;

    /// <summary>A newc cpio holding /anemos/network.conf, written atomically.</summary>
    public static void WriteNetworkConf(string segmentPath, byte[] networkConf) => WriteOne(segmentPath, NetworkConfPath, networkConf);

    /// <summary>A newc cpio holding /anemos/boot-disk (the disk the running system booted from), written atomically.</summary>
    public static void WriteBootDisk(string segmentPath, byte[] bootDisk) => WriteOne(segmentPath, BootDiskPath, bootDisk);

    /// <summary>A newc cpio holding /anemos/target-disk (the disk a TargetDisk by kernel name is on the running system), written atomically.</summary>
    public static void WriteTargetDisk(string segmentPath, byte[] targetDisk) => WriteOne(segmentPath, DeployInitContract.TargetDisk, targetDisk);

    /// <summary>A newc cpio holding /anemos/login_keys (0600): the old system's keys for the deploy environment's root.</summary>
    public static void WriteLoginKeys(string segmentPath, byte[] keys) => WriteOne(segmentPath, DeployInitContract.LoginKeys, keys, 0x180);

    /// <summary>A newc cpio holding /anemos/rehearse.env, which the deploy init sources after host.env (rehearsals only).</summary>
    public static void WriteRehearseEnv(string segmentPath, byte[] env) => WriteOne(segmentPath, RehearseEnvPath, env);

    /// <summary>
    /// A newc cpio holding the running system's ssh host keys under /anemos/ssh (folder 0700, files 0600),
    /// into <paramref name="stream"/> (the helper's file in RAM).
    /// </summary>
    public static void WriteHostKeys(Stream stream, IEnumerable<(string Name, byte[] Content)> keys)
    {
        using var cpio = new NewcWriter(stream, leaveOpen: true);
        cpio.AddDirectory(DeployInitContract.Directory);
        cpio.AddDirectory(DeployInitContract.HostKeys, 0x1C0);
        foreach (var (name, content) in keys) cpio.AddFile(DeployInitContract.HostKeys + "/" + name, content, 0x180);
        cpio.Finish();
    }

    static void WriteOne(string segmentPath, string path, byte[] content, uint mode = 0x1A4) =>
        AtomicFile.Write(segmentPath, stream =>
        {
            using var cpio = new NewcWriter(stream, leaveOpen: true);
            cpio.AddDirectory(DeployInitContract.Directory);
            cpio.AddFile(path, content, mode);
            cpio.Finish();
        });
}
