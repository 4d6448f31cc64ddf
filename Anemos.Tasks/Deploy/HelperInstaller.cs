using Anemos.Core.Hashing;
using Anemos.Core.Protocol;
using Anemos.Tasks.Ssh;

namespace Anemos.Tasks.Deploy;

/// <summary>The helper a deploy works with: the installed one when it is in range, else the SDK's.</summary>
public static class HelperInstaller
{
    /// <summary>
    /// The host's facts from its helper, and the host's deploy lock. An installed helper in range
    /// takes the lock itself. A missing helper or one out of range is replaced by the SDK's: it is
    /// uploaded under a name of this deploy's own (so two uploads never share a file) and proven by
    /// sha256, takes the lock from there, and only then, under the lock, is renamed over the
    /// installed one: a deploy that cannot take the lock never touches the helper another one runs.
    /// With a <paramref name="source"/> the host fetches the replacement itself; when it cannot, the
    /// helper is uploaded and <paramref name="warn"/> says once why and how many bytes (ANEMOS4041).
    /// The replacement is the first of <paramref name="variants"/> that starts on the host, as the probe
    /// in the first command finds it (<see cref="HostPlatform"/>); a host none serves is refused
    /// (ANEMOS4047-4049) before anything is uploaded. An installed helper in range is kept, whatever its variant.
    /// </summary>
    public static (Facts Facts, string How, RemoteProcess Hold) EnsureAndHold(SshSession session, HelperClient helper, IReadOnlyList<HelperVariant> variants, HelperSource? source,
        HelperCompatibility compatibility, string owner, DeployProgress.Phase phase, Action<Diagnostic, object?[]> warn, CancellationToken cancellationToken)
    {
        // Nothing runs from, or is installed under, a state folder someone but root could change:
        // made and proven in one command, before the first run from it. The same command first says
        // what the host is, for the variant a replacement would be (no round trip of its own).
        var trust = session.Run(HostPlatform.Command + RemoteFolderTrust.EnsureCommand(helper.StateDirectory), cancellationToken: cancellationToken);
        if (trust.ExitCode != 0)
            throw new AnemosException(Diagnostics.StateFolderUntrusted, session.Target.Display, helper.StateDirectory, SshSession.LastLine(trust.Output + "\n" + trust.Errors));
        var platform = HostPlatform.Parse(trust.Output);
        // One helper start: the lock, and the facts collected under it.
        var (installed, hold) = helper.HoldWithFacts(owner, helperPath: null, cancellationToken);
        string? version = installed?.HelperVersion;
        if (installed is not null && compatibility.Accepts(version))
            return (installed, "already installed", hold!);
        hold?.Dispose();
        hold = null;
        // No facts from `hold --facts`: no helper, or one older than it, whose version a plain `facts` tells.
        if (installed is null) (installed, version) = helper.ProbeFacts(cancellationToken);

        string reason = version is null ? "missing"
            : !compatibility.Accepts(version) ? $"{version} is outside {compatibility.Range.ToNormalizedString()}"
            : installed is null ? $"{version} answers with facts this SDK cannot read"
            : $"{version} cannot hold the lock and answer with facts at once";
        // The variant that starts there, or the refusal that names what the host lacks, before anything is sent.
        var variant = HelperVariant.Choose(variants, platform, session.Target.Display);
        // AnemosHelperUrl serves the default variant's .gz (HelperSource checked it against that file).
        var variantSource = variant == variants[0] ? source : null;
        string candidate = $"{helper.InstalledPath}.{Guid.NewGuid():N}";
        string quotedCandidate = ShellQuoting.Quote(candidate);
        try
        {
            var delivery = HelperUpload.Send(session, session.Target.Display, variant.File, variantSource, candidate, cancellationToken);
            phase.BytesSent += delivery.BytesSent;
            if (delivery.FetchFailure is { } failure)
                warn(Diagnostics.HelperFetchFailed, [session.Target.Display, source!.Url.AbsoluteUri, failure, ByteSize.Format(delivery.BytesSent), source.Sha256]);
            session.RunChecked($"chmod 0755 {quotedCandidate}", cancellationToken);
            (var facts, hold) = helper.HoldWithFacts(owner, candidate, cancellationToken);
            if (facts is null)
            {
                var (_, raw) = helper.TryRun(new FactsCommand(), candidate, cancellationToken: cancellationToken);
                throw helper.Unusable(raw, cancellationToken);
            }
            session.RunChecked($"mv -f {quotedCandidate} {ShellQuoting.Quote(helper.InstalledPath)}", cancellationToken);
            string url = source is not null && variantSource is null ? $" (AnemosHelperUrl serves {variants[0].Name})" : "";
            return (facts, $"installed, was {reason}; {delivery.How}{url}; variant {variant.Describe()} for {platform.Describe()}", hold!);
        }
        catch
        {
            hold?.Dispose();
            session.Run($"rm -f {quotedCandidate} {ShellQuoting.Quote(candidate + ".part")}", cancellationToken: CancellationToken.None);
            throw;
        }
    }
}
