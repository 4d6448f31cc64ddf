using System.Globalization;
using Anemos.Tasks.Ssh;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace Anemos.Tasks.Deploy;

/// <summary>
/// The wait phase's view of the install (docs/deploy.md, "The live log"): each line under the
/// host's name, the deploy init's result as the deploy's outcome, and after a failure how to
/// reach the machine, as the host's OnFailure left it.
/// </summary>
public sealed class LiveInstallLog(TaskLoggingHelper log, string hostName, SshTarget target, string? onFailure)
{
    /// <summary>
    /// The live log until the deploy init's result (docs/deploy.md, "The live log"): a failure ends the deploy with its step and
    /// log tail (ANEMOS4024); no deploy environment to follow is said once, and the wait goes on as without it.
    /// </summary>
    public bool Follow(DeployLogStream stream, DateTimeOffset deadline, CancellationToken cancellationToken)
    {
        switch (stream.Follow(deadline, cancellationToken))
        {
            case LiveLogOutcome.Finished { Ok: true }:
                return true;
            case LiveLogOutcome.Finished failed:
                string tail = string.Concat(failed.Tail.Select(line => Environment.NewLine + "    " + line));
                throw new AnemosException(Diagnostics.InstallFailed, target.Display, failed.Step, tail, Environment.NewLine + HowToReach());
            case LiveLogOutcome.Unavailable unavailable:
                log.LogMessage(MessageImportance.High, $"  deploy {hostName}: no live log: {unavailable.Why}; waiting for the new system without it");
                break;
            case LiveLogOutcome.OtherSystem other when stream.Connections == 0:
                log.LogMessage(MessageImportance.High, $"  deploy {hostName}: no live log: the deploy environment did not answer ssh before another system did ({other.Why}); waiting for the new system");
                break;
        }
        return stream.Connections > 0;
    }

    /// <summary>What a failed install leaves to log into, as the host's OnFailure says (docs/deploy-init.md, Failure).</summary>
    string HowToReach()
    {
        var environment = DeploySettings.DeployEnvironment(target);
        string ssh = $"ssh {(environment.Port is { } port ? $"-p {port.ToString(CultureInfo.InvariantCulture)} " : "")}{environment.Destination}";
        string pin = target.HostKey is { } key ? $" (host key {key})" : "";
        return onFailure?.Trim() switch
        {
            "poweroff" => "The machine powered off (OnFailure=poweroff): start it from the provider's console; it boots its disk, which the install may have changed.",
            "ssh" => $"The deploy environment waits for you (OnFailure=ssh), the disk left as it is: {ssh} with the deploy's key{pin}.",
            _ => $"A shell waits on its console (OnFailure=shell), and its ssh still answers: {ssh} with the deploy's key{pin}.",
        };
    }

    /// <summary>One line of the live log, under the host's name: the init's and the engine's steps and the result at high importance, the rest normal.</summary>
    public void WriteLine(string line)
    {
        bool step = line.Contains(" anemos[", StringComparison.Ordinal) || line.Contains(" makeimg[", StringComparison.Ordinal)
            || line.StartsWith(Anemos.Core.Initramfs.DeployInitContract.ResultPrefix, StringComparison.Ordinal);
        log.LogMessage(step ? MessageImportance.High : MessageImportance.Normal, $"  [{hostName}] {line}");
    }
}
