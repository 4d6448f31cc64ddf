using System.Globalization;
using System.Text.RegularExpressions;
using Anemos.Tasks.Ssh;

namespace Anemos.Tasks.Deploy;

/// <summary>The deploy's settings as the task receives them, checked once: a bad one is ANEMOS4008 (or 1005/1006), never a crash.</summary>
public static partial class DeploySettings
{
    /// <summary>Where and how to reach the host; the name is the address by default, as in the build.</summary>
    public static SshTarget Target(string hostName, string? address, string? user, string? port, string? hostKey, string? deployedHostKey, string? sshConfigFile, string? sshIdentityFile)
    {
        // The properties (AnemosDeployAddress/User/Port) override the metadata, so they pass the same
        // checks as metadata: neither can start with '-' and become an option of ssh.
        string resolvedAddress = string.IsNullOrWhiteSpace(address) ? hostName : address.Trim();
        if (!ResolveAnemosHosts.IsValidAddress(resolvedAddress))
            throw new AnemosException(Diagnostics.InvalidAddress, hostName, resolvedAddress);
        string resolvedUser = string.IsNullOrWhiteSpace(user) ? "root" : user.Trim();
        if (!ResolveAnemosHosts.IsValidUser(resolvedUser))
            throw new AnemosException(Diagnostics.InvalidUser, hostName, resolvedUser);
        int? resolvedPort = null;
        if (!string.IsNullOrWhiteSpace(port))
        {
            if (!int.TryParse(port.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int number) || number is < 1 or > 65535)
                throw new AnemosException(Diagnostics.DeploySettingInvalid, $"Port of host '{hostName}'", port, "a TCP port between 1 and 65535");
            resolvedPort = number;
        }
        foreach (var (name, key) in new[] { ("HostKey", hostKey), ("DeployedHostKey", deployedHostKey) })
            if (!string.IsNullOrWhiteSpace(key) && !PinPattern().IsMatch(key.Trim()))
                throw new AnemosException(Diagnostics.DeploySettingInvalid, $"{name} of host '{hostName}'", key, "a fingerprint as ssh-keygen -lf prints it: SHA256:…");
        return new SshTarget(resolvedAddress, resolvedUser, resolvedPort)
        {
            HostKey = string.IsNullOrWhiteSpace(hostKey) ? null : hostKey.Trim(),
            ConfigFile = string.IsNullOrWhiteSpace(sshConfigFile) ? null : sshConfigFile,
            IdentityFile = string.IsNullOrWhiteSpace(sshIdentityFile) ? null : sshIdentityFile,
        };
    }

    /// <summary>
    /// The target the new system answers on: the same, with the deployed pin (the HostKey when none
    /// is set) and the deployed user (the User when none is set: a first install logs in to the
    /// stock image as its `debian`, then to the new system as the project's user).
    /// </summary>
    public static SshTarget NewSystem(string hostName, SshTarget target, string? deployedHostKey, string? deployedUser)
    {
        string user = string.IsNullOrWhiteSpace(deployedUser) ? target.User : deployedUser.Trim();
        if (!ResolveAnemosHosts.IsValidUser(user))
            throw new AnemosException(Diagnostics.InvalidUser, hostName, user);
        return target with { HostKey = string.IsNullOrWhiteSpace(deployedHostKey) ? target.HostKey : deployedHostKey.Trim(), User = user, ConnectTimeoutSeconds = 5 };
    }

    /// <summary>
    /// The deploy environment's ssh (docs/deploy-init.md): the same address, port and pin (it answers with the host's own keys),
    /// as root, the one user it has, with the overlay's authorized keys.
    /// </summary>
    public static SshTarget DeployEnvironment(SshTarget target) => target with { User = "root", ConnectTimeoutSeconds = 5 };

    /// <summary>AnemosDeployTimeout in seconds.</summary>
    public static int TimeoutSeconds(string text)
    {
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int seconds) || seconds < 1)
            throw new AnemosException(Diagnostics.DeploySettingInvalid, "AnemosDeployTimeout", text, "a whole number of seconds, such as 1800");
        return seconds;
    }

    [GeneratedRegex("^SHA256:[A-Za-z0-9+/]{43}=?$")]
    private static partial Regex PinPattern();
}
