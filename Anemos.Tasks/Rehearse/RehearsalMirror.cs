using System.Text.RegularExpressions;
using Anemos.Tasks.Imgbuild;

namespace Anemos.Tasks.Rehearse;

/// <summary>
/// The mirror a rehearsal's VM installs from: <see cref="Upstream"/> is AnemosRehearseMirror, else
/// the IMGBUILD's own debian_mirror or arch_mirror (as the host would see it). The VM never reaches it directly:
/// a caching pass-through on 127.0.0.1 (<see cref="MirrorPassThrough"/>) serves it, and QEMU
/// forwards the guest's <see cref="GuestAddress"/>:80 there; <see cref="GuestUrl"/> is how the
/// guest names the mirror (the upstream's path on that address).
/// </summary>
public sealed partial record RehearsalMirror(Uri Upstream)
{
    /// <summary>Where the guest reaches the mirror: inside QEMU's default user network 10.0.2.0/24.</summary>
    public const string GuestAddress = "10.0.2.100";

    /// <summary>The engine's debian_mirror when an IMGBUILD sets none (Anemos.Sdk/engine/makeimg).</summary>
    public const string EngineDefault = "http://deb.debian.org/debian";

    public string GuestUrl => "http://" + GuestAddress + Upstream.AbsolutePath;

    public QemuGuestForward Forward(int passThroughPort) => new(GuestAddress, 80, passThroughPort);

    /// <summary>AnemosRehearseMirror: null when empty; ANEMOS3109 unless an http or https URL without query or user.</summary>
    public static RehearsalMirror? Parse(string? mirror)
    {
        if (string.IsNullOrWhiteSpace(mirror)) return null;
        return Url(mirror) is { } uri ? new(uri) : throw new AnemosException(Diagnostics.RehearseMirrorInvalid, mirror);
    }

    /// <summary>AnemosRehearseMirror when set, else the mirror of <paramref name="imgbuildText"/> (<see cref="FromImgbuild"/>) when there is one.</summary>
    public static RehearsalMirror? Resolve(string? property, string? imgbuildText, string variable, string? hostValue, out string? why)
    {
        why = null;
        return Parse(property) ?? (imgbuildText is null ? null : FromImgbuild(imgbuildText, variable, hostValue, out why));
    }

    /// <summary>
    /// The IMGBUILD's own mirror for a Debian or Arch target: debian_mirror=${VARIABLE:-URL} or
    /// arch_mirror=${VARIABLE:-URL} (or ${VARIABLE-URL}) names it, and the host's value of VARIABLE
    /// wins over URL as it does in a deploy. Null with a reason when the IMGBUILD's mirror cannot be
    /// redirected through VARIABLE (the VM would reach nothing); null without one when the target
    /// has no mirror setting (alpine's repositories are its own file).
    /// </summary>
    public static RehearsalMirror? FromImgbuild(string imgbuildText, string variable, string? hostValue, out string? why)
    {
        why = null;
        ImgbuildDocument document;
        try { document = ImgbuildDocument.Parse(imgbuildText); }
        catch (ShellSyntaxException) { return null; }
        if (ImgbuildRules.MirrorSetting(document.LiteralTarget) is not { } name) return null;
        var setting = document.Setting(name);
        if (setting is null)
        {
            why = name == "debian_mirror"
                ? $"its debian_mirror is not set, so the engine's default {EngineDefault} is used and ${{{variable}}} is never read"
                : $"its arch_mirror is not set, so the repositories of its pacman.conf (or the installer's) are used and ${{{variable}}} is never read";
            return null;
        }
        var match = DefaultedVariable().Match(setting.Value);
        if (setting.Expansion is null || !match.Success || match.Groups[1].Value != variable)
        {
            why = $"its {name} is '{setting.Value}' (line {setting.Line}), which does not read ${{{variable}}}";
            return null;
        }
        string url = string.IsNullOrWhiteSpace(hostValue) ? Unquoted(match.Groups[2].Value) : hostValue;
        if (Url(url) is { } uri) return new(uri);
        why = $"its mirror '{url}' is not an http or https URL";
        return null;
    }

    /// <summary>
    /// The default word as the shell gives it: 'quoted' or with \$ (how an arch_mirror keeps pacman's
    /// $repo and $arch from the shell); other words are taken as written.
    /// </summary>
    static string Unquoted(string word) =>
        word.Length >= 2 && word[0] == '\'' && word[^1] == '\'' && word.IndexOf('\'', 1) == word.Length - 1
            ? word[1..^1]
            : word.Replace("\\$", "$", StringComparison.Ordinal);

    static Uri? Url(string text) =>
        Uri.TryCreate(text.Trim(), UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"
        && uri.Query.Length == 0 && uri.UserInfo.Length == 0 && uri.Fragment.Length == 0 ? uri : null;

    [GeneratedRegex(@"^\$\{([A-Za-z_][A-Za-z0-9_]*):?-([^}]*)\}$")]
    private static partial Regex DefaultedVariable();
}
