using Anemos.Core.Hashing;

namespace Anemos.Tasks.Ssh;

/// <summary>Files sent over a session: resumed after a cut, renamed into place only once proven.</summary>
public static class ResumableUpload
{
    const int ResumeBlock = 64 * 1024;

    /// <summary>
    /// Sends a file to a temporary name next to <paramref name="remotePath"/>, resuming after a cut
    /// when the bytes already there are proven to be the file's first bytes, and renames it into
    /// place only once its sha256 is proven on the host. Returns the bytes sent.
    /// </summary>
    public static long Upload(this SshSession session, string localPath, string remotePath, FileDigest digest, CancellationToken cancellationToken = default)
    {
        string part = remotePath + ".part";
        string quotedPart = ShellQuoting.Quote(part);
        // Every command is a round trip, and through sudo under emulation about 0.3 s: the folder and what
        // is already there are one command, the proof and the rename another.
        // Folders made here (the helper's state folder among them) are root's alone: the helper never chmods one later.
        string present = session.RunChecked(
            $"umask 077 && mkdir -p {ShellQuoting.Quote(Path.GetDirectoryName(remotePath)!.Replace('\\', '/'))} && {{ stat -c %s {quotedPart} 2>/dev/null || echo 0; }}", cancellationToken);
        long have = long.TryParse(present.Trim(), out long size) ? size : 0;
        if (have > digest.Size) have = 0;
        if (have > 0)
        {
            string remotePrefix = session.Run($"head -c {have} {quotedPart} | sha256sum", cancellationToken: cancellationToken).Output.Split(' ')[0].Trim();
            using var local = File.OpenRead(localPath);
            using var prefix = new HashingStream(Stream.Null);
            Anemos.Core.StreamCopy.CopyExactly(local, prefix, have, cancellationToken);
            if (remotePrefix != prefix.Digest().Sha256) have = 0; // not this file's beginning: start again
        }

        // A resume writes at its offset, never appends: the writer of a transfer that was just cut
        // may still be emptying its pipe into the file on the host. Every writer puts the file's own
        // bytes at their own offsets, so they agree wherever they overlap; an append would land after
        // the late bytes and double them. dd seeks in whole blocks: the proven prefix is cut to one.
        have -= have % ResumeBlock;
        long sent = digest.Size - have;
        if (sent > 0 || have == 0)
        {
            using var content = File.OpenRead(localPath);
            content.Seek(have, SeekOrigin.Begin);
            string write = have > 0 ? $"dd of={quotedPart} bs={ResumeBlock} seek={have / ResumeBlock} conv=notrunc" : $"cat > {quotedPart}";
            var result = session.Run(write, content, cancellationToken: cancellationToken);
            if (result.ExitCode != 0)
                throw new AnemosException(Diagnostics.UploadFailed, localPath, session.Target.Display, Interrupted(result.ExitCode, result.Errors, content.Position, digest.Size));
        }

        // The host proves the whole file and takes the final name only when it is this file: it prints what it
        // found, renames on a match and removes the file otherwise.
        string prove = $"h=$(sha256sum {quotedPart}) && h=${{h%% *}} && echo \"$h\" && "
            + $"if [ \"$h\" = {digest.Sha256} ]; then mv -f {quotedPart} {ShellQuoting.Quote(remotePath)}; else rm -f {quotedPart}; fi";
        var proof = session.Run(prove, cancellationToken: cancellationToken);
        string remoteSha = proof.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault() ?? "";
        if (remoteSha != digest.Sha256)
            throw new AnemosException(Diagnostics.UploadFailed, localPath, session.Target.Display,
                remoteSha.Length == 64 ? $"the host has sha256 {remoteSha}, expected {digest.Sha256}; the partial file was removed"
                    : proof.ExitCode == 255 ? $"the connection ended after {digest.Size} of {digest.Size} bytes, while the host proved them"
                    : $"its sha256 could not be read on the host (exit {proof.ExitCode}: {SshSession.LastLine(proof.Errors)})");
        if (proof.ExitCode != 0)
            throw new AnemosException(Diagnostics.RemoteCommandFailed, session.Target.Display, $"mv -f {quotedPart} {ShellQuoting.Quote(remotePath)}", proof.ExitCode, SshSession.LastLine(proof.Errors));
        return sent;
    }

    /// <summary>
    /// Why a send ended early, for ANEMOS4004: ssh's own exit code 255 means the connection ended
    /// (a cut often leaves stderr empty), any other code is the host's `cat` failing. The count is
    /// what was read from the file for ssh, an upper bound on what arrived.
    /// </summary>
    internal static string Interrupted(int exitCode, string errors, long reached, long size)
    {
        string said = string.IsNullOrWhiteSpace(errors) ? "" : $" ({SshSession.LastLine(errors)})";
        string what = exitCode == 255 ? "the connection ended" : $"the host's cat exited with {exitCode}";
        return $"{what} after {reached} of {size} bytes{said}";
    }
}
