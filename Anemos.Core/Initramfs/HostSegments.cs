using Anemos.Core.Cpio;

namespace Anemos.Core.Initramfs;

/// <summary>
/// Segments appended on the host after the proven part of the initramfs (docs/overlay.md): the
/// helper writes them from the running system, a rehearsal from the project. One writer for both.
/// </summary>
public static class HostSegments
{
    public const string NetworkConfPath = "anemos/network.conf";

    /// <summary>A newc cpio holding /anemos/network.conf, written atomically.</summary>
    public static void WriteNetworkConf(string segmentPath, byte[] networkConf) =>
        AtomicFile.Write(segmentPath, stream =>
        {
            using var cpio = new NewcWriter(stream, leaveOpen: true);
            cpio.AddDirectory("anemos");
            cpio.AddFile(NetworkConfPath, networkConf);
            cpio.Finish();
        });
}
