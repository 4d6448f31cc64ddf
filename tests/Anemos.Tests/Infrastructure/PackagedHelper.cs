using System.IO.Compression;

namespace Anemos.Tests.Infrastructure;

/// <summary>The anemos-kexec the SDK package carries (self-contained, trimmed), each variant unpacked once per test run.</summary>
public static class PackagedHelper
{
    /// <summary>The default variant (docs/helper.md, "Variants").</summary>
    public const string DefaultVariant = "linux-x64";
    /// <summary>The variant for musl hosts, which runs in a root without glibc (<see cref="RootWithoutGlibc"/>).</summary>
    public const string MuslVariant = "linux-musl-x64";

    static readonly Dictionary<string, Lazy<string>> Unpacked = new()
    {
        [DefaultVariant] = new(() => Unpack(DefaultVariant), LazyThreadSafetyMode.ExecutionAndPublication),
        ["linux-x64-readytorun"] = new(() => Unpack("linux-x64-readytorun"), LazyThreadSafetyMode.ExecutionAndPublication),
        [MuslVariant] = new(() => Unpack(MuslVariant), LazyThreadSafetyMode.ExecutionAndPublication),
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

    /// <summary>The file of one variant: linux-x64, linux-x64-readytorun or linux-musl-x64.</summary>
    public static string FileOf(string variant) => Unpacked[variant].Value;

    /// <summary>Runs a variant where it is meant to run: the musl one in a root without glibc, with <paramref name="shared"/> at its own path there; the others here.</summary>
    public static ProcessResult RunVariant(string variant, string shared, IReadOnlyList<string> arguments)
    {
        if (variant != MuslVariant) return ProcessRunner.Run(FileOf(variant), arguments);
        using var root = new RootWithoutGlibc(FileOf(variant));
        return root.Run(Path.GetFileName(FileOf(variant)), shared, arguments);
    }

    public static ProcessResult Run(params string[] arguments) => ProcessRunner.Run(File, arguments);
}
