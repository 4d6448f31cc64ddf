using System.Globalization;
using System.Text.RegularExpressions;
using Anemos.Tasks.Ssh;

namespace Anemos.Tasks.Deploy;

/// <summary>
/// The deploy's settings as the task receives them, defaulted and checked once: a bad one is ANEMOS4008
/// (or 1004/1005/1006, the inventory's own checks), never a crash. The targets pass the values as set
/// (a publish profile's property over the host's metadata) and leave every default to this class.
/// </summary>
public static partial class DeploySettings
{
    /// <summary>Whom the deploy logs in as when neither the host nor a publish profile names a User.</summary>
    public const string DefaultUser = "root";

    /// <summary>Where and how to reach the host; the name is the address by default, as in the build.</summary>
    public static SshTarget Target(string hostName, string? address, string? user, string? port, string? hostKey, string? deployedHostKey, string? sshConfigFile, string? sshIdentityFile)
    {
        // The properties (AnemosDeployAddress/User/Port) override the metadata, so they pass the same
        // checks as metadata: neither can start with '-' and become an option of ssh.
        string resolvedAddress = string.IsNullOrWhiteSpace(address) ? hostName : address.Trim();
        if (!ResolveAnemosHosts.IsValidAddress(resolvedAddress))
            throw new AnemosException(Diagnostics.InvalidAddress, hostName, resolvedAddress);
        string resolvedUser = string.IsNullOrWhiteSpace(user) ? DefaultUser : user.Trim();
        if (!ResolveAnemosHosts.IsValidUser(resolvedUser))
            throw new AnemosException(Diagnostics.InvalidUser, hostName, resolvedUser);
        int? resolvedPort = null;
        if (!string.IsNullOrWhiteSpace(port))
        {
            if (!ResolveAnemosHosts.TryParsePort(port, out int number))
                throw new AnemosException(Diagnostics.InvalidPort, hostName, port);
            resolvedPort = number;
        }
        CheckPin(hostName, "HostKey", hostKey);
        CheckPin(hostName, "DeployedHostKey", deployedHostKey);
        return new SshTarget(resolvedAddress, resolvedUser, resolvedPort)
        {
            HostKey = string.IsNullOrWhiteSpace(hostKey) ? null : hostKey.Trim(),
            ConfigFile = string.IsNullOrWhiteSpace(sshConfigFile) ? null : sshConfigFile,
            IdentityFile = string.IsNullOrWhiteSpace(sshIdentityFile) ? null : sshIdentityFile,
        };
    }

    /// <summary>
    /// The target the new system answers on: the same, with the deployed pin and the deployed user.
    /// Without them: the project's own pin and user (the host's HostKey and User metadata, even when a
    /// publish profile pins another key or logs in as another user for now: a first install logs in
    /// to the stock image as its `debian`, then to the new system as the project's user, by default
    /// <see cref="DefaultUser"/>); without those, the deploy's own.
    /// </summary>
    public static SshTarget NewSystem(string hostName, SshTarget target, string? deployedHostKey, string? deployedUser, string? projectHostKey = null, string? projectUser = null)
    {
        string user = FirstSet(deployedUser, projectUser) ?? target.User;
        if (!ResolveAnemosHosts.IsValidUser(user))
            throw new AnemosException(Diagnostics.InvalidUser, hostName, user);
        string? hostKey = FirstSet(deployedHostKey, projectHostKey);
        CheckPin(hostName, "DeployedHostKey", hostKey);
        return target with { HostKey = hostKey ?? target.HostKey, User = user, ConnectTimeoutSeconds = 5 };
    }

    static void CheckPin(string hostName, string name, string? key)
    {
        if (!string.IsNullOrWhiteSpace(key) && !PinPattern().IsMatch(key.Trim()))
            throw new AnemosException(Diagnostics.DeploySettingInvalid, $"{name} of host '{hostName}'", key, "a fingerprint as ssh-keygen -lf prints it: SHA256:…");
    }

    static string? FirstSet(params string?[] values) => values.FirstOrDefault(v => !string.IsNullOrWhiteSpace(v))?.Trim();

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
