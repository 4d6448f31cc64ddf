using System.IO.Compression;

namespace Anemos.Tests.Infrastructure;

/// <summary>The anemos-kexec the SDK package carries (self-contained, trimmed), each variant unpacked once per test run.</summary>
public static class PackagedHelper
{
    /// <summary>The default variant (docs/helper.md, "Variants").</summary>
    public const string DefaultVariant = "linux-x64";
    /// <summary>The variant for musl hosts, which runs in a root without glibc (<see cref="RootWithoutGlibc"/>).</summary>
    public const string MuslVariant = "linux-musl-x64";
    /// <summary>The arm64 variant, which runs here under qemu-user against Debian's arm64 cross glibc.</summary>
    public const string Arm64Variant = "linux-arm64";
    const string Arm64Sysroot = "/usr/aarch64-linux-gnu";

    static readonly Dictionary<string, Lazy<string>> Unpacked = new()
    {
        [DefaultVariant] = new(() => Unpack(DefaultVariant), LazyThreadSafetyMode.ExecutionAndPublication),
        ["linux-x64-readytorun"] = new(() => Unpack("linux-x64-readytorun"), LazyThreadSafetyMode.ExecutionAndPublication),
        [MuslVariant] = new(() => Unpack(MuslVariant), LazyThreadSafetyMode.ExecutionAndPublication),
        [Arm64Variant] = new(() => Unpack(Arm64Variant), LazyThreadSafetyMode.ExecutionAndPublication),
    };

    static string Unpack(string variant)
    {
        string directory = Path.Combine(Path.GetDirectoryName(SdkFeed.FeedDirectory)!, "helper", variant);
        Directory.CreateDirectory(directory);
        string path = Path.Combine(directory, "anemos-kexec");
        using (var package = ZipFile.OpenRead(SdkFeed.PackagePath))
            package.GetEntry($"tools/helper/{variant}/anemos-kexec")!.ExtractToFile(path, overwrite: true);
        // NuGet packages keep no Unix modes: whoever installs the helper makes it executable.
        System.IO.File.SetUnixFileMode(path, (UnixFileMode)0x1ED);
        return path;
    }

    public static string File => Unpacked[DefaultVariant].Value;

    /// <summary>The file of one variant: linux-x64, linux-x64-readytorun, linux-musl-x64 or linux-arm64.</summary>
    public static string FileOf(string variant) => Unpacked[variant].Value;

    /// <summary>
    /// Runs a variant where it is meant to run: the musl one in a root without glibc, with <paramref name="shared"/>
    /// at its own path there; the arm64 one under qemu-user with arm64 glibc (test.sh installs both); the others here.
    /// </summary>
    public static ProcessResult RunVariant(string variant, string shared, IReadOnlyList<string> arguments)
    {
        if (variant == Arm64Variant)
        {
            Assert.True(System.IO.File.Exists(Path.Combine(Arm64Sysroot, "lib", "ld-linux-aarch64.so.1")), $"{Arm64Sysroot} has no arm64 glibc: install libc6-arm64-cross (build.sh does)");
            return ProcessRunner.Run("qemu-aarch64", ["-L", Arm64Sysroot, FileOf(variant), .. arguments], timeout: TimeSpan.FromMinutes(2));
        }
        if (variant != MuslVariant) return ProcessRunner.Run(FileOf(variant), arguments);
        using var root = new RootWithoutGlibc(FileOf(variant));
        return root.Run(Path.GetFileName(FileOf(variant)), shared, arguments);
    }

    public static ProcessResult Run(params string[] arguments) => ProcessRunner.Run(File, arguments);
}
