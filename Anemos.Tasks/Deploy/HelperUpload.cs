using Anemos.Core.Hashing;
using Anemos.Tasks.Ssh;

namespace Anemos.Tasks.Deploy;

/// <summary>
/// Sends the helper to the host. The SDK carries it gzipped beside the helper itself
/// (<c>anemos-kexec.gz</c>, 40 % of its size); gzip is on every stock host (Essential in Debian,
/// an applet in busybox), so the host unpacks it and the unpacked helper is proven by its sha256
/// before it is used. A host without gzip, or an SDK without the .gz, gets the helper as it is.
/// </summary>
public static class HelperUpload
{
    public static string CompressedPathOf(string helperFile) => helperFile + ".gz";

    /// <summary>Puts the helper at <paramref name="remotePath"/> (not yet executable); returns the bytes sent.</summary>
    public static long Send(SshSession session, string hostDisplay, string helperFile, string remotePath, CancellationToken cancellationToken)
    {
        var digest = FileDigest.OfFile(helperFile, cancellationToken);
        string compressed = CompressedPathOf(helperFile);
        if (!File.Exists(compressed) || session.Run("command -v gzip >/dev/null", cancellationToken: cancellationToken).ExitCode != 0)
            return session.Upload(helperFile, remotePath, digest, cancellationToken);

        string remoteCompressed = remotePath + ".gz", unpacked = remotePath + ".unpacked";
        string quotedCompressed = ShellQuoting.Quote(remoteCompressed), quotedUnpacked = ShellQuoting.Quote(unpacked);
        try
        {
            long sent = session.Upload(compressed, remoteCompressed, FileDigest.OfFile(compressed, cancellationToken), cancellationToken);
            session.RunChecked($"gzip -dc {quotedCompressed} > {quotedUnpacked}", cancellationToken);
            string remoteSha = session.Run($"sha256sum {quotedUnpacked}", cancellationToken: cancellationToken).Output.Split(' ')[0].Trim();
            if (remoteSha != digest.Sha256)
                throw new AnemosException(Diagnostics.UploadFailed, compressed, hostDisplay, $"the unpacked helper has sha256 {remoteSha}, expected {digest.Sha256}");
            session.RunChecked($"mv -f {quotedUnpacked} {ShellQuoting.Quote(remotePath)}", cancellationToken);
            return sent;
        }
        finally
        {
            session.Run($"rm -f {quotedCompressed} {quotedUnpacked} {ShellQuoting.Quote(remoteCompressed + ".part")}", cancellationToken: CancellationToken.None);
        }
    }
}
