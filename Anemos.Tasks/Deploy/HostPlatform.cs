using System.Globalization;
using System.Text.RegularExpressions;

namespace Anemos.Tasks.Deploy;

/// <summary>The C library a host's programs run on, as its dynamic loader says.</summary>
public enum HostLibc { Unknown, Glibc, Musl }

/// <summary>
/// What a host is, as far as the helper's variants differ (docs/helper.md, "Variants"): its machine,
/// as `uname -m` says it, and its C library with its version, as said by the dynamic loader that the
/// host's own /bin/sh names (its ELF PT_INTERP), run with --version. The loader is what starts a
/// dynamically linked helper and binds its versioned symbols, so its word is the one that counts;
/// `getconf GNU_LIBC_VERSION` is a program of its own (busybox hosts lack it), and a file's mere
/// presence (/lib/ld-musl-*) says nothing about the library /bin/sh runs on. The probe runs in the
/// deploy's first command, before the state folder's trust check (<see cref="HelperInstaller"/>): no
/// round trip of its own, and before anything is uploaded.
/// </summary>
public sealed partial record HostPlatform(string Machine, string? Loader, HostLibc Libc, Version? LibcVersion, string LoaderSaid, bool StaticShell = false)
{
    const string Prefix = "anemos-probe ";

    /// <summary>Where glibc's dynamic loader lies by each machine's ABI (x86_64, aarch64): fixed paths, named in every glibc program.</summary>
    const string GlibcLoaders = "/lib64/ld-linux-x86-64.so.2 /lib/ld-linux-aarch64.so.1";

    /// <summary>
    /// A POSIX sh fragment that prints the probe's lines and never fails. The loader's path is the first
    /// `/…/ld*.so*` string in /bin/sh's first 4 KiB (where PT_INTERP's .interp lies, right after the
    /// program headers), of path characters only, so nothing else can be run from it (explicit ranges:
    /// busybox's tr knows no character classes). glibc's loader
    /// prints `ld.so (… GLIBC 2.36-9…) stable release version 2.36.`; musl's, which takes no --version,
    /// prints `musl libc (x86_64)` and `Version 1.2.3` on stderr.
    /// </summary>
    public const string Command =
        "echo \"" + Prefix + "machine $(uname -m 2>/dev/null)\"; " +
        "loader=$(head -c 4096 /bin/sh 2>/dev/null | tr -c 'A-Za-z0-9_./-' '\\n' | grep -o -E '/[A-Za-z0-9_./-]*/ld[A-Za-z0-9_.-]*[.]so[.0-9]*' | head -n 1); " +
        // A statically linked /bin/sh (busybox-static as the shell, as in the tests' stock host) names
        // none: then glibc's own loader at its ABI path, the one a glibc helper names, is asked instead.
        "if [ -z \"$loader\" ]; then for l in " + GlibcLoaders + "; do if [ -x \"$l\" ]; then loader=$l; echo \"" + Prefix + "static-shell\"; break; fi; done; fi; " +
        "echo \"" + Prefix + "loader $loader\"; " +
        "if [ -n \"$loader\" ]; then \"$loader\" --version 2>&1 | head -n 2 | sed 's/^/" + Prefix + "loader-says /'; fi; ";

    /// <summary>The platform the probe's lines describe; lines of anything else in the output are ignored.</summary>
    public static HostPlatform Parse(string output)
    {
        string machine = "", said = "";
        string? loader = null;
        bool staticShell = false;
        foreach (string raw in output.Split('\n'))
        {
            string line = raw.TrimEnd('\r');
            if (!line.StartsWith(Prefix, StringComparison.Ordinal)) continue;
            string rest = line[Prefix.Length..];
            if (rest.StartsWith("machine ", StringComparison.Ordinal)) machine = rest["machine ".Length..].Trim();
            else if (rest.StartsWith("loader ", StringComparison.Ordinal)) loader = rest["loader ".Length..].Trim() is { Length: > 0 } path ? path : null;
            else if (rest.StartsWith("loader-says ", StringComparison.Ordinal)) said += (said.Length > 0 ? " " : "") + rest["loader-says ".Length..].Trim();
            else if (rest == "static-shell") staticShell = true;
        }
        if (said.Contains("musl", StringComparison.OrdinalIgnoreCase))
            return new HostPlatform(machine, loader, HostLibc.Musl, VersionIn(MuslVersion().Match(said)), said, staticShell);
        if (GlibcVersion().Match(said) is { Success: true } glibc)
            return new HostPlatform(machine, loader, HostLibc.Glibc, VersionIn(glibc), said, staticShell);
        return new HostPlatform(machine, loader, HostLibc.Unknown, null, said, staticShell);
    }

    static Version? VersionIn(Match match) => match.Success
        ? new Version(int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture), int.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture))
        : null;

    /// <summary>As the facts line and the refusals say it: `x86_64, glibc 2.36`.</summary>
    public string Describe() => $"{(Machine.Length > 0 ? Machine : "unknown machine")}, {DescribeLibc()}{(StaticShell ? " (a static /bin/sh)" : "")}";

    /// <summary>The C library in words, saying why when it is unknown.</summary>
    public string DescribeLibc() => Libc switch
    {
        HostLibc.Glibc => $"glibc {LibcVersion}",
        HostLibc.Musl => LibcVersion is null ? "musl" : $"musl {LibcVersion}",
        _ when Loader is null => "an unknown C library (/bin/sh names no dynamic loader, and glibc's is not there)",
        _ => $"an unknown C library (its loader {Loader} said '{(LoaderSaid.Length > 0 ? LoaderSaid : "nothing")}')",
    };

    [GeneratedRegex(@"release version (\d+)\.(\d+)")]
    private static partial Regex GlibcVersion();

    [GeneratedRegex(@"Version (\d+)\.(\d+)")]
    private static partial Regex MuslVersion();
}
