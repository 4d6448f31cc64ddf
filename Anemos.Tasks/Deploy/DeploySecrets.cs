using Anemos.Core;
using Anemos.Core.Cpio;
using Anemos.Core.Initramfs;
using Microsoft.Build.Framework;

namespace Anemos.Tasks.Deploy;

/// <summary>One resolved secret: where it goes under secrets/, and its bytes (held in memory only).</summary>
public sealed record ResolvedSecret(string Name, string TargetPath, byte[] Value);

/// <summary>
/// Resolves `AnemosSecret` items on the operator's machine at deploy time (a Command's output, a
/// File's bytes or an EnvironmentVariable's value) and writes them as a newc segment under
/// /anemos/secrets/ with mode 0600. Values never reach a log, a file or an exception message.
/// </summary>
public static class DeploySecrets
{
    public const string SegmentRoot = DeployInitContract.Secrets;
    static readonly string[] Sources = ["Command", "File", "EnvironmentVariable"];

    public static IReadOnlyList<ResolvedSecret> Resolve(IEnumerable<ITaskItem> items, string projectDirectory, CancellationToken cancellationToken)
    {
        var secrets = new List<ResolvedSecret>();
        var targets = new HashSet<string>(StringComparer.Ordinal);
        foreach (var item in items)
        {
            string name = item.ItemSpec;
            var given = Sources.Where(s => item.GetMetadata(s).Length > 0).ToList();
            if (given.Count != 1)
                throw new AnemosException(Diagnostics.SecretInvalid, name, given.Count == 0 ? "has none of Command, File and EnvironmentVariable" : "has " + string.Join(" and ", given));
            string targetPath = NormalizeTargetPath(name, item.GetMetadata("TargetPath"));
            if (!targets.Add(targetPath))
                throw new AnemosException(Diagnostics.SecretInvalid, name, $"has the TargetPath secrets/{targetPath}, which another AnemosSecret already uses");
            // A file at `a` and another at `a/b`: the kernel unpacks one and silently drops the other.
            if (targets.FirstOrDefault(t => t.StartsWith(targetPath + "/", StringComparison.Ordinal) || targetPath.StartsWith(t + "/", StringComparison.Ordinal)) is { } nested)
                throw new AnemosException(Diagnostics.SecretInvalid, name, $"has the TargetPath secrets/{targetPath}, and another AnemosSecret has secrets/{nested}: one would be a folder of the other");

            byte[] value = given[0] switch
            {
                "Command" => RunCommand(name, item.GetMetadata("Command"), projectDirectory, cancellationToken),
                "File" => ReadFile(name, Path.GetFullPath(item.GetMetadata("File"), projectDirectory)),
                _ => FromEnvironment(name, item.GetMetadata("EnvironmentVariable")),
            };
            if (value.Length == 0)
                throw new AnemosException(Diagnostics.SecretUnresolved, name, "resolved to nothing (0 bytes)");
            secrets.Add(new ResolvedSecret(name, targetPath, value));
        }
        return secrets;
    }

    /// <summary>TargetPath is relative to the payload's secrets/ folder; a leading "secrets/" is accepted.</summary>
    static string NormalizeTargetPath(string name, string targetPath)
    {
        string path = targetPath.Replace('\\', '/').Trim();
        if (path.StartsWith("secrets/", StringComparison.Ordinal)) path = path["secrets/".Length..];
        string[] parts = path.Split('/');
        if (path.Length == 0 || path.StartsWith('/') || parts.Any(p => p is "" or "." or ".."))
            throw new AnemosException(Diagnostics.SecretInvalid, name, $"has TargetPath '{targetPath}'; use a relative path inside secrets/, such as tls/key.pem");
        return path;
    }

    static byte[] RunCommand(string name, string command, string workingDirectory, CancellationToken cancellationToken)
    {
        using var value = new MemoryStream();
        var result = ChildProcess.Run("/bin/sh", ["-c", command], output: value, workingDirectory: workingDirectory, cancellationToken: cancellationToken);
        if (result.ExitCode != 0)
            throw new AnemosException(Diagnostics.SecretUnresolved, name, $"its Command exited with {result.ExitCode}: {Ssh.SshSession.LastLine(result.Errors)}");
        return value.ToArray();
    }

    static byte[] ReadFile(string name, string path)
    {
        try
        {
            return File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            string why = e is FileNotFoundException or DirectoryNotFoundException ? "does not exist" : $"cannot be read ({e.GetType().Name})";
            throw new AnemosException(Diagnostics.SecretUnresolved, name, $"its File {path} {why}");
        }
    }

    static byte[] FromEnvironment(string name, string variable)
    {
        string? value = Environment.GetEnvironmentVariable(variable);
        if (value is null)
            throw new AnemosException(Diagnostics.SecretUnresolved, name, $"its EnvironmentVariable {variable} is not set");
        return System.Text.Encoding.UTF8.GetBytes(value);
    }

    /// <summary>The secrets segment: directories 0700, files 0600, owned by root, under /anemos/secrets/.</summary>
    public static byte[] WriteSegment(IReadOnlyList<ResolvedSecret> secrets)
    {
        using var buffer = new MemoryStream();
        using (var cpio = new NewcWriter(buffer, leaveOpen: true))
        {
            var directories = new SortedSet<string>(StringComparer.Ordinal) { DeployInitContract.Directory, SegmentRoot };
            foreach (var secret in secrets)
            {
                string[] parts = secret.TargetPath.Split('/');
                for (int i = 1; i < parts.Length; i++) directories.Add(SegmentRoot + "/" + string.Join('/', parts[..i]));
            }
            foreach (string directory in directories)
                cpio.AddDirectory(directory, directory == DeployInitContract.Directory ? 0x1EDu /* 0755 */ : 0x1C0u /* 0700 */);
            foreach (var secret in secrets.OrderBy(s => s.TargetPath, StringComparer.Ordinal))
                cpio.AddFile(SegmentRoot + "/" + secret.TargetPath, secret.Value, 0x180 /* 0600 */);
            cpio.Finish();
        }
        return buffer.ToArray();
    }
}
