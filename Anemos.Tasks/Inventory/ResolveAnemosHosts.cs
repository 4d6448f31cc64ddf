using System.Text.RegularExpressions;
using Anemos.Core.Initramfs;
using Anemos.Core;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace Anemos.Tasks;

/// <summary>
/// Validates the whole inventory (every host, even when one is selected, so a broken entry is
/// never hidden), checks the selection and writes each selected host's variables file
/// (host.vars) only when its content changed, so that only that host's artifacts rebuild.
/// </summary>
public sealed partial class ResolveAnemosHosts : AnemosTask
{
    /// <summary>Metadata with a meaning of its own; every other metadata value is a host variable.</summary>
    static readonly HashSet<string> ConnectionMetadata = new(StringComparer.OrdinalIgnoreCase)
    {
        "Address", "User", "Port", "HostKey", "DeployedHostKey", "DeployedUser", "HealthCheck", "Group", "OnFailure", "Network", "TargetDisk", "AuthorizedKeys",
        "Firmware",
    };

    static readonly string[] OnFailureValues = ["shell", "ssh", "poweroff"];
    static readonly string[] NetworkValues = ["auto", "dhcp", "static", "none"];

    static readonly HashSet<string> ShellVariables = new(StringComparer.Ordinal)
    {
        "PATH", "IFS", "ENV", "PS1", "PS2", "PS4", "PWD", "OLDPWD", "OPTIND", "OPTARG", "PPID", "LINENO",
        "HOME", "SHELL", "TERM", "LD_PRELOAD", "LD_LIBRARY_PATH",
    };

    /// <summary>A name the deploy environment keeps for itself: ANEMOS_* and the shell's own variables. Host variables and the rehearsal's overrides may not take one.</summary>
    public static bool IsReservedVariable(string name) =>
        name.StartsWith("ANEMOS_", StringComparison.OrdinalIgnoreCase) || ShellVariables.Contains(name);

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")]
    private static partial Regex HostNamePattern();

    [GeneratedRegex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}$")]
    private static partial Regex UserPattern();

    /// <summary>A login name ssh cannot take for an option: letters, digits, '_', '.', '-', not starting with '-'. The deploy checks its overrides with the same rule.</summary>
    public static bool IsValidUser(string user) => UserPattern().IsMatch(user);

    /// <summary>A TCP port, 1 to 65535, digits only: the one check of a host's Port and of AnemosDeployPort (ANEMOS1004).</summary>
    public static bool TryParsePort(string port, out int number) =>
        int.TryParse(port.Trim(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out number) && number is >= 1 and <= 65535;

    /// <summary>An address ssh cannot take for an option: not empty, no spaces or control characters, not starting with '-'.</summary>
    public static bool IsValidAddress(string address) =>
        address.Length > 0 && !address.StartsWith('-') && !address.Any(char.IsWhiteSpace) && !address.Any(char.IsControl);

    [Required] public ITaskItem[] Hosts { get; set; } = [];
    /// <summary>Where each host's files go, as Anemos.Host.targets names them (_AnemosHost: VariablesPath, AuthorizedKeysPath).</summary>
    [Required] public ITaskItem[] HostFiles { get; set; } = [];
    public string? ProjectFile { get; set; }
    /// <summary>AnemosOnFailure: what the deploy init does after a failed run, unless a host says otherwise.</summary>
    [Required] public string DefaultOnFailure { get; set; } = "";
    /// <summary>AnemosNetwork: how the deploy init brings up the network, unless a host says otherwise.</summary>
    [Required] public string DefaultNetwork { get; set; } = "";

    protected override void ExecuteCore()
    {
        var seen = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var valid = new List<ITaskItem>();
        foreach (var host in Hosts)
        {
            string name = host.ItemSpec;
            if (!HostNamePattern().IsMatch(name))
            {
                LogDiagnostic(Diagnostics.InvalidHostName, ProjectFile, 0, name);
                continue;
            }
            if (!seen.TryAdd(name, name))
            {
                LogDiagnostic(Diagnostics.DuplicateHost, ProjectFile, 0, name);
                continue;
            }
            if (ValidateHost(host)) valid.Add(host);
        }

        if (Log.HasLoggedErrors) return;

        // Every valid host's files are written, selected or not, so a later build of all hosts finds them.
        var files = HostFiles.ToDictionary(f => f.ItemSpec, StringComparer.OrdinalIgnoreCase);
        foreach (var host in valid)
        {
            var hostFiles = files[host.ItemSpec];
            AtomicFile.WriteIfDifferent(hostFiles.GetMetadata("VariablesPath"), ShellQuoting.EnvironmentFile(DeploySettings(host).Concat(Variables(host))));
            // Always written (empty without keys), so that it can be an input of the host's overlay.
            byte[] keys = Metadata(host, "AuthorizedKeys") is { } keysPath ? File.ReadAllBytes(Path.GetFullPath(keysPath, ProjectDirectory)) : [];
            AtomicFile.WriteIfDifferent(hostFiles.GetMetadata("AuthorizedKeysPath"), keys);
        }
    }

    string ProjectDirectory => Path.GetDirectoryName(Path.GetFullPath(ProjectFile ?? "./x"))!;

    /// <summary>The deploy init's settings for this host, in host.env before its variables.</summary>
    IEnumerable<KeyValuePair<string, string>> DeploySettings(ITaskItem host)
    {
        yield return new(DeployInitContract.HostEnv.OnFailure, Metadata(host, "OnFailure") ?? DefaultOnFailure.Trim());
        yield return new(DeployInitContract.HostEnv.Network, Metadata(host, "Network") ?? DefaultNetwork.Trim());
        if (Metadata(host, "TargetDisk") is { } disk) yield return new(DeployInitContract.HostEnv.TargetDisk, disk);
    }

    bool ValidateHost(ITaskItem host)
    {
        string name = host.ItemSpec;
        bool ok = true;
        string onFailure = Metadata(host, "OnFailure") ?? DefaultOnFailure.Trim();
        if (!OnFailureValues.Contains(onFailure))
        {
            LogDiagnostic(Diagnostics.InvalidOnFailure, ProjectFile, 0, name, onFailure);
            ok = false;
        }
        string network = Metadata(host, "Network") ?? DefaultNetwork.Trim();
        if (!NetworkValues.Contains(network))
        {
            LogDiagnostic(Diagnostics.InvalidNetwork, ProjectFile, 0, name, network);
            ok = false;
        }
        if (Metadata(host, "TargetDisk") is { } disk && (!disk.StartsWith("/dev/", StringComparison.Ordinal) || disk.Any(c => char.IsWhiteSpace(c) || c == '\'')))
        {
            LogDiagnostic(Diagnostics.InvalidTargetDisk, ProjectFile, 0, name, disk);
            ok = false;
        }
        if (Metadata(host, "AuthorizedKeys") is { } keys && !File.Exists(Path.GetFullPath(keys, ProjectDirectory)))
        {
            LogDiagnostic(Diagnostics.AuthorizedKeysMissing, ProjectFile, 0, name, keys);
            ok = false;
        }
        string address = Address(host);
        if (!IsValidAddress(address))
        {
            LogDiagnostic(Diagnostics.InvalidAddress, ProjectFile, 0, name, address);
            ok = false;
        }
        string? user = Metadata(host, "User");
        if (user is not null && !IsValidUser(user))
        {
            LogDiagnostic(Diagnostics.InvalidUser, ProjectFile, 0, name, user);
            ok = false;
        }
        string? port = Metadata(host, "Port");
        if (port is not null && !TryParsePort(port, out _))
        {
            LogDiagnostic(Diagnostics.InvalidPort, ProjectFile, 0, name, port);
            ok = false;
        }
        foreach (string variable in CustomMetadataNames(host))
        {
            if (ConnectionMetadata.Contains(variable)) continue;
            if (!ShellQuoting.IsIdentifier(variable))
            {
                LogDiagnostic(Diagnostics.InvalidVariableName, ProjectFile, 0, name, variable);
                ok = false;
            }
            else if (IsReservedVariable(variable))
            {
                LogDiagnostic(Diagnostics.ReservedVariableName, ProjectFile, 0, name, variable);
                ok = false;
            }
        }
        return ok;
    }

    static IEnumerable<KeyValuePair<string, string>> Variables(ITaskItem host) =>
        CustomMetadataNames(host)
            .Where(n => !ConnectionMetadata.Contains(n))
            .OrderBy(n => n, StringComparer.Ordinal)
            .Select(n => new KeyValuePair<string, string>(n, host.GetMetadata(n)));

    static IEnumerable<string> CustomMetadataNames(ITaskItem host) =>
        host.CloneCustomMetadata().Keys.Cast<string>();

    static string Address(ITaskItem host) => Metadata(host, "Address") ?? host.ItemSpec;

    static string? Metadata(ITaskItem host, string name)
    {
        string value = host.GetMetadata(name);
        return value.Length == 0 ? null : value.Trim();
    }
}
