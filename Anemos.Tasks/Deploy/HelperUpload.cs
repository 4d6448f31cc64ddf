using Anemos.Core.Hashing;
using Anemos.Tasks.Ssh;

namespace Anemos.Tasks.Deploy;

/// <summary>How the helper reached the host: the bytes the operator's link carried for it, what happened, and why a fetch fell back.</summary>
public sealed record HelperDelivery(long BytesSent, string How, string? FetchFailure = null);

/// <summary>
/// Brings the helper to the host. The SDK carries it gzipped beside the helper itself
/// (<c>anemos-kexec.gz</c>, 40 % of its size); gzip is on every stock host (Essential in Debian,
/// an applet in busybox), so the host unpacks it and the unpacked helper is proven by its sha256
/// before it is used. With a <see cref="HelperSource"/> the host fetches the .gz itself
/// (<see cref="HelperFetch"/>) and only a failed fetch makes it travel. A host without gzip, or an
/// SDK without the .gz, gets the helper as it is.
/// </summary>
public static class HelperUpload
{
    public static string CompressedPathOf(string helperFile) => helperFile + ".gz";

    /// <summary>Puts the helper at <paramref name="remotePath"/> (not yet executable).</summary>
    public static HelperDelivery Send(SshSession session, string hostDisplay, string helperFile, HelperSource? source, string remotePath, CancellationToken cancellationToken)
    {
        var digest = FileDigest.OfFile(helperFile, cancellationToken);
        string compressed = CompressedPathOf(helperFile);
        bool gzip = File.Exists(compressed) && session.Run("command -v gzip >/dev/null", cancellationToken: cancellationToken).ExitCode == 0;
        if (!gzip)
        {
            long whole = session.Upload(helperFile, remotePath, digest, cancellationToken);
            return new HelperDelivery(whole, $"uploaded, {ByteSize.Format(whole)}", source is null ? null : "the host has no gzip to unpack it");
        }

        string remoteCompressed = remotePath + ".gz", unpacked = remotePath + ".unpacked";
        string quotedCompressed = ShellQuoting.Quote(remoteCompressed), quotedUnpacked = ShellQuoting.Quote(unpacked);
        try
        {
            string? failure = null;
            if (source is not null)
            {
                var fetch = session.Run(HelperFetch.Command(source, remoteCompressed), cancellationToken: cancellationToken);
                string said = SshSession.LastLine(fetch.Output + "\n" + (fetch.ExitCode == 0 ? "" : fetch.Errors));
                if (fetch.ExitCode == 0)
                {
                    Unpack(session, hostDisplay, quotedCompressed, quotedUnpacked, remotePath, digest, source.Url.AbsoluteUri, cancellationToken);
                    return new HelperDelivery(0, $"fetched by the host with {said} from {source.Url.AbsoluteUri}");
                }
                failure = said;
            }
            long sent = session.Upload(compressed, remoteCompressed, FileDigest.OfFile(compressed, cancellationToken), cancellationToken);
            Unpack(session, hostDisplay, quotedCompressed, quotedUnpacked, remotePath, digest, compressed, cancellationToken);
            return new HelperDelivery(sent, $"uploaded gzipped, {ByteSize.Format(sent)}", failure);
        }
        finally
        {
            session.Run($"rm -f {quotedCompressed} {quotedUnpacked} {ShellQuoting.Quote(remoteCompressed + ".part")} {ShellQuoting.Quote(remoteCompressed + ".err")}", cancellationToken: CancellationToken.None);
        }
    }

    /// <summary>Unpacks the .gz on the host and proves the result is this SDK's helper before it takes its place.</summary>
    static void Unpack(SshSession session, string hostDisplay, string quotedCompressed, string quotedUnpacked, string remotePath, FileDigest digest, string origin, CancellationToken cancellationToken)
    {
        session.RunChecked($"gzip -dc {quotedCompressed} > {quotedUnpacked}", cancellationToken);
        string remoteSha = session.Run($"sha256sum {quotedUnpacked}", cancellationToken: cancellationToken).Output.Split(' ')[0].Trim();
        if (remoteSha != digest.Sha256)
            throw new AnemosException(Diagnostics.UploadFailed, origin, hostDisplay, $"the unpacked helper has sha256 {remoteSha}, expected {digest.Sha256}");
        session.RunChecked($"mv -f {quotedUnpacked} {ShellQuoting.Quote(remotePath)}", cancellationToken);
    }
}
