using System.Text.RegularExpressions;
using Anemos.Core.Hashing;

namespace Anemos.Tasks.Deploy;

/// <summary>
/// Where a host may fetch the gzipped helper itself (AnemosHelperUrl, AnemosHelperSha256): an https
/// URL that serves exactly this SDK's anemos-kexec.gz. Checked before the host is contacted; a pin
/// that names another file is an error (ANEMOS4040), since the host would fetch a helper this
/// deploy does not run, and fall back to uploading it on every deploy.
/// </summary>
public sealed partial record HelperSource(Uri Url, string Sha256, long Size)
{
    /// <summary>The source the settings name, or null when AnemosHelperUrl is empty (the helper is uploaded).</summary>
    public static HelperSource? Create(string? url, string? sha256, string helperFile, CancellationToken cancellationToken)
    {
        string text = url?.Trim() ?? "", pin = sha256?.Trim().ToLowerInvariant() ?? "";
        if (text.Length == 0)
            return pin.Length == 0 ? null : throw Invalid(text, "AnemosHelperSha256 is set without it");
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttps || text.Any(c => char.IsWhiteSpace(c) || c is '\'' or '"'))
            throw Invalid(text, "the host fetches the helper over https only (an absolute https:// URL without spaces or quotes)");
        if (pin.Length == 0) throw Invalid(text, "AnemosHelperSha256 is not set: a download is used only when its sha256 is known");
        if (!Sha256Pattern().IsMatch(pin)) throw Invalid(text, $"AnemosHelperSha256 '{sha256}' is not the 64 hex digits sha256sum prints");
        string compressed = HelperUpload.CompressedPathOf(helperFile);
        if (!File.Exists(compressed)) throw Invalid(text, $"there is no gzipped helper {compressed} beside the helper to fall back on and compare with");
        var local = FileDigest.OfFile(compressed, cancellationToken);
        if (local.Sha256 != pin)
            throw Invalid(text, $"AnemosHelperSha256 is {pin}, and this SDK's gzipped helper ({compressed}) has sha256 {local.Sha256}: the URL would serve a helper this deploy does not run (publish the new one after an SDK update)");
        return new HelperSource(uri, pin, local.Size);
    }

    static AnemosException Invalid(string url, string why) => new(Diagnostics.HelperUrlInvalid, url, why);

    [GeneratedRegex("^[0-9a-f]{64}$")]
    private static partial Regex Sha256Pattern();
}
