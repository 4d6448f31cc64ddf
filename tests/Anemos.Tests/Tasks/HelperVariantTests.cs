using Anemos.Tasks;
using Anemos.Tasks.Deploy;
using Anemos.Tests.Infrastructure;

namespace Anemos.Tests.Tasks;

/// <summary>
/// Which helper variant a host gets (docs/helper.md, "Variants"): the probe's lines as real hosts
/// print them, the choice over the SDK's three x86_64 variants, and the refusal of a host none serves
/// (ANEMOS4047-4049), before anything is sent.
/// </summary>
public sealed class HelperVariantTests : IDisposable
{
    readonly string _root = Directory.CreateTempSubdirectory("anemos-helper-variant-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    // Recorded probe outputs: the machine, the loader /bin/sh names, and the first two lines the loader says.
    const string Debian12 = """
        anemos-probe machine x86_64
        anemos-probe loader /lib64/ld-linux-x86-64.so.2
        anemos-probe loader-says ld.so (Debian GLIBC 2.36-9+deb12u14) stable release version 2.36.
        anemos-probe loader-says Copyright (C) 2022 Free Software Foundation, Inc.
        """;
    const string Ubuntu2004 = """
        anemos-probe machine x86_64
        anemos-probe loader /lib64/ld-linux-x86-64.so.2
        anemos-probe loader-says ld.so (Ubuntu GLIBC 2.31-0ubuntu9.16) stable release version 2.31.
        anemos-probe loader-says Copyright (C) 2020 Free Software Foundation, Inc.
        """;
    const string Rhel8 = """
        anemos-probe machine x86_64
        anemos-probe loader /lib64/ld-linux-x86-64.so.2
        anemos-probe loader-says ld.so (GNU libc) stable release version 2.28.
        anemos-probe loader-says Copyright (C) 2018 Free Software Foundation, Inc.
        """;
    const string CentOs7 = """
        anemos-probe machine x86_64
        anemos-probe loader /lib64/ld-linux-x86-64.so.2
        anemos-probe loader-says ld.so (GNU libc) stable release version 2.17, by Roland McGrath et al.
        anemos-probe loader-says Copyright (C) 2012 Free Software Foundation, Inc.
        """;
    // Alpine: /bin/sh is busybox, linked against musl; musl's loader takes no --version and prints its banner.
    const string Alpine = """
        anemos-probe machine x86_64
        anemos-probe loader /lib/ld-musl-x86_64.so.1
        anemos-probe loader-says musl libc (x86_64)
        anemos-probe loader-says Version 1.2.3
        """;
    const string DebianArm64 = """
        anemos-probe machine aarch64
        anemos-probe loader /lib/ld-linux-aarch64.so.1
        anemos-probe loader-says ld.so (Debian GLIBC 2.36-9+deb12u14) stable release version 2.36.
        anemos-probe loader-says Copyright (C) 2022 Free Software Foundation, Inc.
        """;
    const string DebianRiscv64 = """
        anemos-probe machine riscv64
        anemos-probe loader /lib/ld-linux-riscv64-lp64d.so.1
        anemos-probe loader-says ld.so (Debian GLIBC 2.36-9+deb12u14) stable release version 2.36.
        """;
    // A statically linked /bin/sh (busybox-static as the shell) names no loader, and there is no glibc loader either.
    const string StaticShell = """
        anemos-probe machine x86_64
        anemos-probe loader 
        """;
    // The tests' stock host: busybox-static as /bin/sh, glibc's loader and libraries beside it (sshd needs them).
    const string StaticShellBesideGlibc = """
        anemos-probe machine x86_64
        anemos-probe static-shell
        anemos-probe loader /lib64/ld-linux-x86-64.so.2
        anemos-probe loader-says ld.so (Debian GLIBC 2.36-9+deb12u14) stable release version 2.36.
        anemos-probe loader-says Copyright (C) 2022 Free Software Foundation, Inc.
        """;

    /// <summary>The SDK's three x86_64 variants and its arm64 one as the package lays them out: an ELF header with the loader each names, and the measured .min-glibc beside each (empty for musl's).</summary>
    IReadOnlyList<HelperVariant> Variants(string defaultGlibc = "2.34", string readyToRunGlibc = "2.27")
    {
        string directory = Path.Combine(_root, "helper");
        WriteHelper(Path.Combine(directory, "linux-x64", "anemos-kexec"), machine: 62, defaultGlibc, "/lib64/ld-linux-x86-64.so.2");
        WriteHelper(Path.Combine(directory, "linux-x64-readytorun", "anemos-kexec"), machine: 62, readyToRunGlibc, "/lib64/ld-linux-x86-64.so.2");
        WriteHelper(Path.Combine(directory, "linux-musl-x64", "anemos-kexec"), machine: 62, "", "/lib/ld-musl-x86_64.so.1");
        WriteHelper(Path.Combine(directory, "linux-arm64", "anemos-kexec"), machine: 183, "2.34", "/lib/ld-linux-aarch64.so.1");
        return HelperVariant.LoadAll(["linux-x64", "linux-x64-readytorun", "linux-musl-x64", "linux-arm64"], directory, Path.Combine(directory, "linux-x64", "anemos-kexec"));
    }

    static void WriteHelper(string path, ushort machine, string? minimumGlibc, string? loader = null)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, TestElf.Header(machine, loader));
        if (minimumGlibc is not null) File.WriteAllText(HelperVariant.MinimumGlibcPathOf(path), minimumGlibc + "\n");
    }

    [Theory]
    [InlineData(Debian12, "x86_64", HostLibc.Glibc, "2.36", "/lib64/ld-linux-x86-64.so.2")]
    [InlineData(Ubuntu2004, "x86_64", HostLibc.Glibc, "2.31", "/lib64/ld-linux-x86-64.so.2")]
    [InlineData(Rhel8, "x86_64", HostLibc.Glibc, "2.28", "/lib64/ld-linux-x86-64.so.2")]
    [InlineData(CentOs7, "x86_64", HostLibc.Glibc, "2.17", "/lib64/ld-linux-x86-64.so.2")]
    [InlineData(Alpine, "x86_64", HostLibc.Musl, "1.2", "/lib/ld-musl-x86_64.so.1")]
    [InlineData(DebianArm64, "aarch64", HostLibc.Glibc, "2.36", "/lib/ld-linux-aarch64.so.1")]
    [InlineData(StaticShell, "x86_64", HostLibc.Unknown, null, null)]
    [InlineData(StaticShellBesideGlibc, "x86_64", HostLibc.Glibc, "2.36", "/lib64/ld-linux-x86-64.so.2")]
    public void TheProbeSaysTheMachineAndTheCLibraryTheLoaderNames(string output, string machine, HostLibc libc, string? version, string? loader)
    {
        // The trust check's own lines (none on success, the reason on failure) are not the probe's.
        var platform = HostPlatform.Parse(output + "\n/var/lib/anemos is owned by uid 1000, not root\n");

        Assert.Equal(machine, platform.Machine);
        Assert.Equal(libc, platform.Libc);
        Assert.Equal(version is null ? null : Version.Parse(version), platform.LibcVersion);
        Assert.Equal(loader, platform.Loader);
    }

    [Theory]
    [InlineData(Debian12, "linux-x64")]
    [InlineData(Ubuntu2004, "linux-x64-readytorun")]
    [InlineData(Rhel8, "linux-x64-readytorun")]
    [InlineData(StaticShellBesideGlibc, "linux-x64")]
    [InlineData(Alpine, "linux-musl-x64")]
    [InlineData(DebianArm64, "linux-arm64")]
    public void AHostGetsTheFirstVariantThatStartsThere(string output, string variant) =>
        Assert.Equal(variant, HelperVariant.Choose(Variants(), HostPlatform.Parse(output), "root@x").Name);

    [Fact]
    public void TheVariantsMachineIsReadFromItsElfHeaderAndItsGlibcFromTheMeasuredFile()
    {
        var variants = Variants();
        Assert.Equal(["x86_64", "x86_64", "x86_64", "aarch64"], variants.Select(v => v.Machine));
        Assert.Equal([new Version(2, 34), new Version(2, 27), null, new Version(2, 34)], variants.Select(v => v.MinimumGlibc));
        Assert.Equal([false, false, true, false], variants.Select(v => v.NeedsMusl));
        Assert.Equal("linux-x64 (glibc >= 2.34)", variants[0].Describe());
        Assert.Equal("linux-musl-x64 (musl)", variants[2].Describe());
    }

    [Fact]
    public void AHostOfAnotherMachineIsRefusedForIt()
    {
        var refused = Assert.Throws<AnemosException>(() => HelperVariant.Choose(Variants(), HostPlatform.Parse(DebianRiscv64), "root@riscv.example.org"));
        Assert.Equal("ANEMOS4047", refused.Diagnostic.Code);
        Assert.Contains("root@riscv.example.org says its machine is 'riscv64' (uname -m), and this SDK's helper runs on x86_64, aarch64 only. Nothing was uploaded", refused.Message);
    }

    [Fact]
    public void AHostThatDidNotSayItsMachineIsRefused()
    {
        var refused = Assert.Throws<AnemosException>(() => HelperVariant.Choose(Variants(), HostPlatform.Parse("anemos-probe machine \n"), "x"));
        Assert.Equal("ANEMOS4047", refused.Diagnostic.Code);
        Assert.Contains("x says its machine is '' (uname -m)", refused.Message);
    }

    [Fact]
    public void AHostWithoutAKnownCLibraryIsRefusedForIt()
    {
        var refused = Assert.Throws<AnemosException>(() => HelperVariant.Choose(Variants(), HostPlatform.Parse(StaticShell), "root@static"));
        Assert.Equal("ANEMOS4048", refused.Diagnostic.Code);
        Assert.Contains("root@static runs on an unknown C library (/bin/sh names no dynamic loader, and glibc's is not there), and this SDK's helper for x86_64 needs glibc 2.27 or later or musl. Nothing was uploaded", refused.Message);
    }

    /// <summary>A package without the musl variant (an SDK that lists only the glibc ones) refuses a musl host, naming what it has.</summary>
    [Fact]
    public void AMuslHostWithoutAMuslVariantIsRefusedForItsCLibrary()
    {
        Variants();
        var glibcOnly = HelperVariant.LoadAll(["linux-x64", "linux-x64-readytorun"], Path.Combine(_root, "helper"), Path.Combine(_root, "helper", "linux-x64", "anemos-kexec"));
        var refused = Assert.Throws<AnemosException>(() => HelperVariant.Choose(glibcOnly, HostPlatform.Parse(Alpine), "root@alpine"));
        Assert.Equal("ANEMOS4048", refused.Diagnostic.Code);
        Assert.Contains("root@alpine runs on musl 1.2, and this SDK's helper for x86_64 needs glibc 2.27 or later. Nothing was uploaded", refused.Message);
        // The musl variant serves no glibc host.
        Assert.False(Variants()[2].Serves(HostPlatform.Parse(Debian12)));
    }

    [Fact]
    public void AGlibcOlderThanEveryVariantsIsRefusedWithTheOldestThatWouldDo()
    {
        var refused = Assert.Throws<AnemosException>(() => HelperVariant.Choose(Variants(), HostPlatform.Parse(CentOs7), "root@old"));
        Assert.Equal("ANEMOS4049", refused.Diagnostic.Code);
        Assert.Contains("root@old has glibc 2.17 (its loader /lib64/ld-linux-x86-64.so.2), and the oldest this SDK's helper runs on is glibc 2.27 (variant linux-x64-readytorun). Nothing was uploaded", refused.Message);
    }

    [Fact]
    public void AHelperGivenByAnemosHelperPathIsTheOneForEveryHostCheckedAsFarAsItsFilesSay()
    {
        Variants();
        string foreign = Path.Combine(_root, "foreign", "anemos-kexec");
        WriteHelper(foreign, machine: 62, minimumGlibc: null);
        var variants = HelperVariant.LoadAll(["linux-x64", "linux-x64-readytorun"], Path.Combine(_root, "helper"), foreign);

        Assert.Equal(foreign, Assert.Single(variants).File);
        Assert.Equal(foreign, HelperVariant.Choose(variants, HostPlatform.Parse(Alpine), "x").File); // no .min-glibc: not checked
        Assert.Equal("ANEMOS4047", Assert.Throws<AnemosException>(() => HelperVariant.Choose(variants, HostPlatform.Parse(DebianArm64), "x")).Diagnostic.Code); // an x86_64 file
        // The default variant's own file keeps the SDK's variants.
        Assert.Equal(2, HelperVariant.LoadAll(["linux-x64", "linux-x64-readytorun"], Path.Combine(_root, "helper"), Path.Combine(_root, "helper", "linux-x64", "anemos-kexec")).Count);
    }

    [Fact]
    public void AVariantWhoseFileIsMissingServesNoHost()
    {
        var variants = HelperVariant.LoadAll(["linux-x64"], Path.Combine(_root, "none"), Path.Combine(_root, "none", "linux-x64", "anemos-kexec"));
        var refused = Assert.Throws<AnemosException>(() => HelperVariant.Choose(variants, HostPlatform.Parse(Debian12), "x"));
        Assert.Equal("ANEMOS4047", refused.Diagnostic.Code);
        Assert.Contains("none (the SDK's helper files are missing)", refused.Message);
    }

    /// <summary>
    /// The probe in a root whose /bin/sh is the static busybox (as the tests' stock host): with glibc's loader at
    /// its ABI path it asks that one; without it, the C library is unknown and the host is refused.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void TheProbeUnderAStaticShellAsksGlibcsOwnLoader(bool withGlibc)
    {
        if (!OperatingSystem.IsLinux() || Environment.UserName != "root") return; // chroot needs root
        string root = Path.Combine(_root, "static-root"), bin = Path.Combine(root, "bin");
        Directory.CreateDirectory(bin);
        File.Copy(ProcessRunner.Run("sh", "-c", "command -v busybox").StandardOutput.Trim(), Path.Combine(bin, "busybox"));
        File.SetUnixFileMode(Path.Combine(bin, "busybox"), (UnixFileMode)0x1ED);
        foreach (string tool in new[] { "sh", "head", "tr", "grep", "sed", "uname" })
            File.CreateSymbolicLink(Path.Combine(bin, tool), "busybox");
        Directory.CreateDirectory(Path.Combine(root, "dev"));
        Assert.Equal(0, ProcessRunner.Run("mknod", "-m", "666", Path.Combine(root, "dev", "null"), "c", "1", "3").ExitCode);
        if (withGlibc)
        {
            Directory.CreateDirectory(Path.Combine(root, "lib64"));
            File.Copy("/lib64/ld-linux-x86-64.so.2", Path.Combine(root, "lib64", "ld-linux-x86-64.so.2"));
            File.SetUnixFileMode(Path.Combine(root, "lib64", "ld-linux-x86-64.so.2"), (UnixFileMode)0x1ED);
        }
        var result = ProcessRunner.Run("chroot", [root, "/bin/sh", "-c", HostPlatform.Command], _root, new Dictionary<string, string?> { ["PATH"] = "/bin" }, TimeSpan.FromSeconds(30));
        Assert.True(result.ExitCode == 0, result.ToString());

        var platform = HostPlatform.Parse(result.StandardOutput);
        Assert.True(platform.StaticShell == withGlibc, result.StandardOutput);
        if (withGlibc)
        {
            Assert.Equal((HostLibc.Glibc, "/lib64/ld-linux-x86-64.so.2"), (platform.Libc, platform.Loader));
            Assert.Equal("linux-x64", HelperVariant.Choose(Variants(), platform, "x").Name);
        }
        else
            Assert.Equal("ANEMOS4048", Assert.Throws<AnemosException>(() => HelperVariant.Choose(Variants(), platform, "x")).Diagnostic.Code);
    }

    /// <summary>The probe as a host runs it, by the real sh, with coreutils and again with busybox's applets.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void TheProbeRunsOnThisMachineAndFindsItsGlibc(bool busybox)
    {
        var environment = new Dictionary<string, string?>();
        if (busybox)
        {
            string bin = Path.Combine(_root, "busybox-bin");
            Directory.CreateDirectory(bin);
            foreach (string tool in new[] { "head", "tr", "grep", "sed", "uname" })
                File.CreateSymbolicLink(Path.Combine(bin, tool), ProcessRunner.Run("sh", "-c", "command -v busybox").StandardOutput.Trim());
            environment["PATH"] = bin + ":" + Environment.GetEnvironmentVariable("PATH");
        }
        var result = ProcessRunner.Run("sh", ["-c", HostPlatform.Command], _root, environment, TimeSpan.FromSeconds(30));
        Assert.True(result.ExitCode == 0, result.ToString());

        var platform = HostPlatform.Parse(result.StandardOutput);
        string glibc = ProcessRunner.Run("getconf", "GNU_LIBC_VERSION").StandardOutput.Trim(); // "glibc 2.36"
        Assert.Equal(ProcessRunner.Run("uname", "-m").StandardOutput.Trim(), platform.Machine);
        Assert.Equal(HostLibc.Glibc, platform.Libc);
        Assert.Equal(glibc, "glibc " + platform.LibcVersion!.ToString(2));
        Assert.Equal($"{platform.Machine}, {glibc}", platform.Describe());
        // The tests' sshd deploys to this machine (glibc 2.36): it gets the NativeAOT default.
        Assert.Equal("linux-x64", HelperVariant.Choose(Variants(), platform, "x").Name);
    }
}
