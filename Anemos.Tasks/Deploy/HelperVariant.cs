namespace Anemos.Tasks.Deploy;

/// <summary>
/// One helper the SDK carries (docs/helper.md, "Variants"). Its name is owned by
/// Anemos.Sdk/build/Anemos.HelperVariants.props; everything else is read from the files themselves:
/// the machine from the binary's ELF header, the C library from the dynamic loader it names (its
/// PT_INTERP: musl's serves musl hosts only), the oldest glibc it runs on from
/// <c>anemos-kexec.min-glibc</c>, which the package build measures from the binary's versioned symbols.
/// </summary>
/// <param name="Machine">What `uname -m` says on a host it runs on; null when its file does not say (it has no ELF header), which is then not checked.</param>
/// <param name="MinimumGlibc">The oldest glibc it runs on; null when it binds none, or no .min-glibc lies beside it (a helper given by AnemosHelperPath), which is then not checked.</param>
/// <param name="Loader">The dynamic loader the binary names; null for a static binary or a file that is no ELF executable.</param>
public sealed record HelperVariant(string Name, string File, bool Exists, string? Machine, Version? MinimumGlibc, string? Loader = null)
{
    /// <summary>Linked against musl (its loader is musl's): it starts on musl hosts only.</summary>
    public bool NeedsMusl => Loader is not null && Core.ElfInterpreter.IsMusl(Loader);

    /// <summary>The file beside a helper that names the oldest glibc it runs on (empty: it binds none).</summary>
    public static string MinimumGlibcPathOf(string helperFile) => helperFile + ".min-glibc";

    /// <summary>The variant whose binary is <paramref name="file"/>, as its files describe it.</summary>
    public static HelperVariant Load(string name, string file)
    {
        string glibcFile = MinimumGlibcPathOf(file);
        string glibc = System.IO.File.Exists(glibcFile) ? System.IO.File.ReadAllText(glibcFile).Trim() : "";
        return new HelperVariant(name, file, System.IO.File.Exists(file), Core.FileMagic.ElfMachine(file), Version.TryParse(glibc, out var version) ? version : null,
            Core.ElfInterpreter.OfFile(file));
    }

    /// <summary>
    /// The variants a deploy may install, in the order of preference: the names as the SDK lists them, each
    /// at DIRECTORY/NAME/anemos-kexec. An AnemosHelperPath (<paramref name="helperFile"/>) other than the
    /// default variant's file is the one helper for every host, checked only as far as its files say.
    /// </summary>
    public static IReadOnlyList<HelperVariant> LoadAll(IReadOnlyList<string> names, string directory, string helperFile)
    {
        var variants = names.Select(name => Load(name, Path.Combine(directory, name, "anemos-kexec"))).ToList();
        return variants.Count > 0 && SamePath(variants[0].File, helperFile) ? variants : [Load("AnemosHelperPath", helperFile)];
    }

    static bool SamePath(string a, string b) => Path.GetFullPath(a) == Path.GetFullPath(b);

    /// <summary>Whether it starts on <paramref name="host"/>: the same machine, and musl for a musl build, else glibc at least as new as it binds.</summary>
    public bool Serves(HostPlatform host) =>
        Exists && (Machine is null || Machine == host.Machine)
        && (NeedsMusl
            ? host.Libc == HostLibc.Musl
            : MinimumGlibc is null || host.Libc == HostLibc.Glibc && host.LibcVersion is { } version && version >= MinimumGlibc);

    /// <summary>In the facts line: `linux-x64 (glibc >= 2.34)`, `linux-musl-x64 (musl)`.</summary>
    public string Describe() => NeedsMusl ? $"{Name} (musl)" : MinimumGlibc is null ? Name : $"{Name} (glibc >= {MinimumGlibc})";

    /// <summary>
    /// The first variant that serves the host; otherwise the refusal that names what the host lacks
    /// (ANEMOS4047 the machine, 4048 a C library no variant is built for, 4049 a new enough glibc), before anything is sent.
    /// </summary>
    public static HelperVariant Choose(IReadOnlyList<HelperVariant> variants, HostPlatform host, string hostDisplay)
    {
        if (variants.FirstOrDefault(v => v.Serves(host)) is { } chosen) return chosen;
        var sameMachine = variants.Where(v => v.Exists && (v.Machine is null || v.Machine == host.Machine)).ToList();
        if (sameMachine.Count == 0)
        {
            string machines = string.Join(", ", variants.Where(v => v.Exists && v.Machine is not null).Select(v => v.Machine).Distinct());
            throw new AnemosException(Diagnostics.HostMachineUnserved, hostDisplay, host.Machine, machines.Length > 0 ? machines : "none (the SDK's helper files are missing)");
        }
        var oldest = sameMachine.Where(v => v.MinimumGlibc is not null).MinBy(v => v.MinimumGlibc);
        if (host.Libc != HostLibc.Glibc || host.LibcVersion is null || oldest is null)
        {
            // What the variants for this machine need: the oldest glibc among them, and musl when one is built for it.
            string needs = string.Join(" or ", new[] { oldest is null ? null : $"glibc {oldest.MinimumGlibc} or later", sameMachine.Any(v => v.NeedsMusl) ? "musl" : null }.OfType<string>());
            throw new AnemosException(Diagnostics.HostLibcUnserved, hostDisplay, host.DescribeLibc(), host.Machine, needs);
        }
        throw new AnemosException(Diagnostics.HostGlibcTooOld, hostDisplay, host.LibcVersion, host.Loader, oldest.MinimumGlibc, oldest.Name);
    }
}
