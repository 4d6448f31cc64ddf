using Anemos.Tasks.Ssh;

namespace Anemos.Tasks.Deploy;

/// <summary>The verify phase: what the new system reports about itself, and the health check.</summary>
public static class NewSystemCheck
{
    /// <summary>Where a new system reports the payload it was installed from (the deploy init writes it).</summary>
    public const string PayloadReportPath = "/etc/anemos/payload.sha256";

    /// <summary>Compares the payload the new system reports with the deployed one, then runs the health check.</summary>
    public static string Verify(SshSession session, string display, string payloadSha256, string? healthCheck, CancellationToken cancellationToken)
    {
        string reported = session.Run($"cat {PayloadReportPath} 2>/dev/null", TimeSpan.FromSeconds(60), cancellationToken).Output.Trim();
        if (reported.Length > 0 && reported != payloadSha256)
            throw new AnemosException(Diagnostics.PayloadMismatch, display, reported, payloadSha256);
        string detail = reported.Length > 0 ? $"reports payload {reported[..Math.Min(12, reported.Length)]}" : $"reached (the new system does not report a payload in {PayloadReportPath})";

        if (!string.IsNullOrWhiteSpace(healthCheck))
        {
            var health = session.Run(healthCheck, TimeSpan.FromMinutes(5), cancellationToken);
            if (health.ExitCode != 0)
                throw new AnemosException(Diagnostics.HealthCheckFailed, display, healthCheck, health.ExitCode, SshSession.LastLine(health.Errors + "\n" + health.Output));
            detail += ", healthy";
        }
        return detail;
    }
}
