namespace Anemos.Tasks.Ssh;

/// <summary>
/// Where and how to reach a host with the system's OpenSSH client. Everything else (identity,
/// agent, ProxyJump, Host aliases, a config Port, known_hosts) comes from the user's ssh config,
/// as with a plain `ssh`: <see cref="Address"/> is what ssh resolves, never bypassed.
/// </summary>
public sealed record SshTarget(string Address, string User = "root", int? Port = null)
{
    /// <summary>A pinned host key fingerprint ("SHA256:…", as ssh-keygen -l prints it): the only key ssh accepts; any other is refused before authentication.</summary>
    public string? HostKey { get; init; }

    /// <summary>An ssh_config file to use instead of the user's (-F), for tests and CI.</summary>
    public string? ConfigFile { get; init; }

    /// <summary>An identity file (-i), when not in the agent or the config.</summary>
    public string? IdentityFile { get; init; }

    /// <summary>Seconds ssh waits for the TCP connection (ConnectTimeout).</summary>
    public int ConnectTimeoutSeconds { get; init; } = 20;

    public string Destination => $"{User}@{Address}";

    /// <summary>user@address, with the port when one is set (else ssh's config decides it).</summary>
    public string Display => Port is { } port ? $"{Destination}:{port}" : Destination;

    /// <summary>A user other than root works through sudo without a password prompt.</summary>
    public bool NeedsSudo => User != "root";
}
