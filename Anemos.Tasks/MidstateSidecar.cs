using Anemos.Core;
using Anemos.Core.Hashing;

namespace Anemos.Tasks;

/// <summary>
/// A "FILE.sha256-state" next to a base image: the SHA-256 state after its whole 64-byte blocks
/// (<see cref="Sha256Midstate"/>), keyed by the file's sha256 and size, so every host's initramfs
/// resumes the hash there instead of hashing the base again. A key that does not match the file's
/// current digest (another base, an edited file) makes it computed again. A wrong state cannot pass
/// unseen: the helper proves the whole initramfs against the manifest before it loads it.
/// </summary>
public static class MidstateSidecar
{
    public static string PathOf(string file) => file + ".sha256-state";

    public static Sha256Midstate Read(string file, FileDigest digest, CancellationToken cancellationToken = default)
    {
        string sidecar = PathOf(file);
        string key = $"{digest.Sha256} {digest.Size} ";
        if (File.Exists(sidecar))
        {
            string text = File.ReadAllText(sidecar);
            if (text.StartsWith(key, StringComparison.Ordinal)
                && Sha256Midstate.Parse(text[key.Length..]) is { } kept
                && digest.Size - kept.BytesHashed is >= 0 and < Sha256Midstate.BlockSize)
                return kept;
        }
        var state = Sha256Midstate.OfFile(file, cancellationToken);
        AtomicFile.WriteIfDifferent(sidecar, System.Text.Encoding.ASCII.GetBytes(key + state + "\n"));
        return state;
    }
}
