using System.IO.Compression;

namespace Anemos.Tests.Infrastructure;

/// <summary>The anemos-kexec the SDK package carries (self-contained, trimmed), unpacked once per test run.</summary>
public static class PackagedHelper
{
    static readonly Lazy<string> Unpacked = new(() =>
    {
        string directory = Path.Combine(Path.GetDirectoryName(SdkFeed.FeedDirectory)!, "helper");
        Directory.CreateDirectory(directory);
        string path = Path.Combine(directory, "anemos-kexec");
        using (var package = ZipFile.OpenRead(SdkFeed.PackagePath))
            package.GetEntry("tools/helper/linux-x64/anemos-kexec")!.ExtractToFile(path, overwrite: true);
        // NuGet packages keep no Unix modes: whoever installs the helper makes it executable.
        System.IO.File.SetUnixFileMode(path, (UnixFileMode)0x1ED);
        return path;
    }, LazyThreadSafetyMode.ExecutionAndPublication);

    public static string File => Unpacked.Value;

    public static ProcessResult Run(params string[] arguments) => ProcessRunner.Run(File, arguments);
}
