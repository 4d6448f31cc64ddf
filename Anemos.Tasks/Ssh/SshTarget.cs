namespace Anemos.Tasks.Ssh;

/// <summary>
/// Where and how to reach a host with the system's OpenSSH client. Everything else (identity,
/// agent, ProxyJump, known_hosts) comes from the user's ~/.ssh/config, as with a plain `ssh`.
/// </summary>
public sealed record SshTarget(string Address, string User = "root", int Port = 22)
{
    /// <summary>A pinned host key fingerprint ("SHA256:…", as ssh-keygen -l prints it): any other key is refused before anything is sent.</summary>
    public string? HostKey { get; init; }

    /// <summary>An ssh_config file to use instead of the user's (-F), for tests and CI.</summary>
    public string? ConfigFile { get; init; }

    /// <summary>An identity file (-i), when not in the agent or the config.</summary>
    public string? IdentityFile { get; init; }

    public string Destination => $"{User}@{Address}";

    public string Display => Port == 22 ? Destination : $"{Destination}:{Port}";

    /// <summary>A user other than root works through sudo without a password prompt.</summary>
    public bool NeedsSudo => User != "root";
}
