using Anemos.Core.Compression;
using Anemos.Core.Cpio;
using Anemos.Core.Hashing;
using Anemos.Core.Initramfs;
using Anemos.Core;
using Microsoft.Build.Framework;

namespace Anemos.Tasks;

/// <summary>
/// Writes a host's overlay: a newc cpio holding the contract files under /anemos/ (the payload
/// and host.env), optionally compressed. See docs/overlay.md for the contract.
/// </summary>
public sealed class WriteAnemosOverlay : AnemosTask
{
    [Required] public string HostName { get; set; } = "";
    [Required] public string HostVariablesFile { get; set; } = "";
    /// <summary>The host's authorized_keys for ssh after a failed deploy; packed as /anemos/authorized_keys (0600) when not empty.</summary>
    public string? AuthorizedKeysFile { get; set; }
    [Required] public string PayloadFile { get; set; } = "";
    [Required] public string PayloadKind { get; set; } = "";
    [Required] public string SdkVersion { get; set; } = "";
    [Required] public string OutputFile { get; set; } = "";
    [Required] public string Compression { get; set; } = "";
    [Required] public string OnSuccess { get; set; } = "";
    public string? SourceDateEpoch { get; set; }

    [Output] public string? Sha256 { get; set; }

    protected override void ExecuteCore()
    {
        // Both settings are defaulted and validated in one place, _AnemosCheckInventory (ANEMOS0004,
        // ANEMOS0005), before anything is built: the overlay's file name depends on the compression
        // at evaluation, where no task runs. Here they are only read.
        OverlayCompressionNames.TryParse(Compression, out var compression);
        string onSuccess = OnSuccess.Trim();
        long mtime = Tasks.SourceDateEpoch.Parse(SourceDateEpoch);

        var payload = DigestSidecar.Read(PayloadFile, CancellationToken);
        if (payload.Size > uint.MaxValue) throw new AnemosException(Diagnostics.OverlayTooLarge, payload.Size);

        byte[] hostEnvironment = HostEnvironment(payload, onSuccess);
        byte[] authorizedKeys = !string.IsNullOrEmpty(AuthorizedKeysFile) && File.Exists(AuthorizedKeysFile) ? File.ReadAllBytes(AuthorizedKeysFile) : [];
        FileDigest digest;
        try
        {
            digest = AtomicFile.Write(OutputFile, stream =>
            {
                using var hashing = new HashingStream(stream, leaveOpen: true);
                using (var compressed = compression.Compress(hashing))
                using (var cpio = new NewcWriter(compressed, leaveOpen: true))
                {
                    cpio.AddDirectory(DeployInitContract.Directory, mtime: mtime);
                    cpio.AddFile(DeployInitContract.HostEnvironment, hostEnvironment, mode: 0x1A4, mtime: mtime);
                    if (authorizedKeys.Length > 0)
                        cpio.AddFile(DeployInitContract.AuthorizedKeys, authorizedKeys, mode: 0x180, mtime: mtime);
                    using (var content = File.OpenRead(PayloadFile))
                        cpio.AddFile(DeployInitContract.Payload, content, payload.Size, mode: 0x1A4, mtime: mtime, CancellationToken);
                    cpio.Finish();
                }
                return hashing.Digest();
            });
        }
        catch (ZstdUnavailableException e)
        {
            throw new AnemosException(Diagnostics.ZstdUnavailable, e.Message);
        }
        DigestSidecar.Write(OutputFile, digest);
        Sha256 = digest.Sha256;
    }

    byte[] HostEnvironment(FileDigest payload, string onSuccess)
    {
        var fixedPart = new List<KeyValuePair<string, string>>
        {
            new(DeployInitContract.HostEnv.Host, HostName),
            new(DeployInitContract.HostEnv.SdkVersion, SdkVersion),
            new(DeployInitContract.HostEnv.Payload, "/" + DeployInitContract.Payload),
            new(DeployInitContract.HostEnv.PayloadKind, PayloadKind),
            new(DeployInitContract.HostEnv.PayloadSha256, payload.Sha256),
            new(DeployInitContract.HostEnv.PayloadSize, payload.Size.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            new(DeployInitContract.HostEnv.OnSuccess, onSuccess),
        };
        byte[] header = ShellQuoting.EnvironmentFile(fixedPart);
        byte[] variables = File.ReadAllBytes(HostVariablesFile);
        return [.. "# Written by Anemos.Sdk: the deploy contract (docs/overlay.md), then the host's variables.\n"u8, .. header, .. variables];
    }
}
