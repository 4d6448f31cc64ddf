using Microsoft.Build.Framework;

namespace Anemos.Tasks.Rehearse;

/// <summary>
/// The host's secrets for one rehearsal, resolved as a deploy resolves them, as the secrets segment
/// in a private temporary folder (0700) that also takes the initramfs carrying them. Disposing
/// deletes the folder; the rehearsal does so as soon as the install VM has stopped. A rehearsal
/// killed before that leaves the folder behind: the next one removes it (<see cref="RemoveStale"/>).
/// </summary>
public sealed class RehearsalSecrets : IDisposable
{
    const string Prefix = "anemos-rehearse-";

    public string Folder { get; }
    public string Segment { get; }
    public int Count { get; }

    RehearsalSecrets(string folder, string segment, int count) => (Folder, Segment, Count) = (folder, segment, count);

    /// <summary>Null without secrets; an unresolvable secret is the resolver's coded error.</summary>
    public static RehearsalSecrets? Resolve(ITaskItem[] items, string projectDirectory, CancellationToken cancellationToken)
    {
        if (items.Length == 0) return null;
        var secrets = Deploy.DeploySecrets.Resolve(items, projectDirectory, cancellationToken);
        string folder = OwnedTempFolder.Create(Prefix);
        string segment = Path.Combine(folder, "secrets.cpio");
        File.WriteAllBytes(segment, Deploy.DeploySecrets.WriteSegment(secrets));
        return new(folder, segment, secrets.Count);
    }

    /// <summary>The folders of this user's rehearsals that were killed (their process is gone), with the secrets in them.</summary>
    public static void RemoveStale(string? temp = null) => OwnedTempFolder.RemoveStale(Prefix, temp);

    public void Dispose()
    {
        try { Directory.Delete(Folder, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
