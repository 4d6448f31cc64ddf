using Anemos.Core.Hashing;

namespace Anemos.Tasks.Ssh;

/// <summary>One file to send: where it is here, its path on the host, and what it must prove to be.</summary>
public sealed record UploadFile(string LocalPath, string RemotePath, FileDigest Digest);

/// <summary>Files sent over a session: resumed after a cut, renamed into place only once proven.</summary>
public static class ResumableUpload
{
    const int ResumeBlock = 64 * 1024;

    /// <summary>
    /// Sends a file to a temporary name next to <paramref name="remotePath"/>, resuming after a cut
    /// when the bytes already there are proven to be the file's first bytes, and renames it into
    /// place only once its sha256 is proven on the host. Returns the bytes sent.
    /// </summary>
    public static long Upload(this SshSession session, string localPath, string remotePath, FileDigest digest, CancellationToken cancellationToken = default) =>
        session.UploadAll([new UploadFile(localPath, remotePath, digest)], cancellationToken);

    /// <summary>
    /// <see cref="Upload"/> for several files, in two round trips besides one write per file (and a
    /// prefix check per file that resumes): what is already there (the folders made in the same
    /// command), and one proof and rename for all. Returns the bytes sent.
    /// </summary>
    public static long UploadAll(this SshSession session, IReadOnlyList<UploadFile> files, CancellationToken cancellationToken = default)
    {
        if (files.Count == 0) return 0;
        // Every command is a round trip, through sudo and a login shell, and under emulation about 0.3 s.
        // Folders made here (the helper's state folder among them) are root's alone: the helper never chmods one later.
        string folders = string.Join(" ", files.Select(f => ShellQuoting.Quote(Path.GetDirectoryName(f.RemotePath)!.Replace('\\', '/'))).Distinct());
        string parts = string.Join(" ", files.Select(f => ShellQuoting.Quote(PartOf(f))));
        string[] present = session.RunChecked($"umask 077 && mkdir -p {folders} && for p in {parts}; do stat -c %s \"$p\" 2>/dev/null || echo 0; done", cancellationToken)
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        long sent = 0;
        for (int i = 0; i < files.Count; i++)
            sent += Send(session, files[i], i < present.Length && long.TryParse(present[i], out long size) ? size : 0, cancellationToken);
        Prove(session, files, cancellationToken);
        return sent;
    }

    static string PartOf(UploadFile file) => file.RemotePath + ".part";

    /// <summary>Writes what the host lacks of one file into its .part, from the proven prefix on; returns the bytes sent.</summary>
    static long Send(SshSession session, UploadFile file, long have, CancellationToken cancellationToken)
    {
        string quotedPart = ShellQuoting.Quote(PartOf(file));
        if (have > file.Digest.Size) have = 0;
        if (have > 0)
        {
            string remotePrefix = session.Run($"head -c {have} {quotedPart} | sha256sum", cancellationToken: cancellationToken).Output.Split(' ')[0].Trim();
            using var local = File.OpenRead(file.LocalPath);
            using var prefix = new HashingStream(Stream.Null);
            Anemos.Core.StreamCopy.CopyExactly(local, prefix, have, cancellationToken);
            if (remotePrefix != prefix.Digest().Sha256) have = 0; // not this file's beginning: start again
        }

        // A resume writes at its offset, never appends: the writer of a transfer that was just cut
        // may still be emptying its pipe into the file on the host. Every writer puts the file's own
        // bytes at their own offsets, so they agree wherever they overlap; an append would land after
        // the late bytes and double them. dd seeks in whole blocks: the proven prefix is cut to one.
        have -= have % ResumeBlock;
        long sent = file.Digest.Size - have;
        if (sent > 0 || have == 0)
        {
            using var content = File.OpenRead(file.LocalPath);
            content.Seek(have, SeekOrigin.Begin);
            string write = have > 0 ? $"dd of={quotedPart} bs={ResumeBlock} seek={have / ResumeBlock} conv=notrunc" : $"cat > {quotedPart}";
            var result = session.Run(write, content, cancellationToken: cancellationToken);
            if (result.ExitCode != 0)
                throw new AnemosException(Diagnostics.UploadFailed, file.LocalPath, session.Target.Display, Interrupted(result.ExitCode, result.Errors, content.Position, file.Digest.Size));
        }
        return sent;
    }

    /// <summary>
    /// The host proves every file and gives each its final name only when it is that file: it prints
    /// what it found, one line per file, renames on a match and removes the .part otherwise.
    /// </summary>
    static void Prove(SshSession session, IReadOnlyList<UploadFile> files, CancellationToken cancellationToken)
    {
        // Every file gets its line; a rename that fails makes the command's status 1 (mv says which on stderr).
        string prove = "s=0; " + string.Concat(files.Select(f =>
        {
            string part = ShellQuoting.Quote(PartOf(f));
            return $"h=$(sha256sum {part} 2>/dev/null) && h=${{h%% *}} || h={Unreadable}; echo \"$h\"; "
                + $"if [ \"$h\" = {f.Digest.Sha256} ]; then mv -f {part} {ShellQuoting.Quote(f.RemotePath)} || s=1; else rm -f {part}; fi; ";
        })) + "exit $s";
        var proof = session.Run(prove, cancellationToken: cancellationToken);
        string[] found = proof.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        for (int i = 0; i < files.Count; i++)
        {
            var file = files[i];
            string remoteSha = i < found.Length ? found[i] : "";
            if (remoteSha == file.Digest.Sha256) continue;
            throw new AnemosException(Diagnostics.UploadFailed, file.LocalPath, session.Target.Display,
                remoteSha.Length == 64 ? $"the host has sha256 {remoteSha}, expected {file.Digest.Sha256}; the partial file was removed"
                    : remoteSha == Unreadable ? $"the host could not read {PartOf(file)} to prove it"
                    : proof.ExitCode == 255 ? $"the connection ended after {file.Digest.Size} of {file.Digest.Size} bytes, while the host proved them"
                    : $"its sha256 could not be read on the host (exit {proof.ExitCode}: {SshSession.LastLine(proof.Errors)})");
        }
        if (proof.ExitCode != 0)
            throw new AnemosException(Diagnostics.RemoteCommandFailed, session.Target.Display, "mv -f FILE.part FILE (each proven upload to its name)", proof.ExitCode, SshSession.LastLine(proof.Errors));
    }

    /// <summary>What the proof prints for a .part it could not hash.</summary>
    const string Unreadable = "unreadable";

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
