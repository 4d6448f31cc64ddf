namespace Anemos.Tests.Infrastructure;

/// <summary>
/// The SDK under test: packed once per test run from the working tree into a private feed (or
/// copied from the pack test.sh's ./build.sh just made), and restored into a private NuGet package
/// folder, so no stale Anemos.Sdk is ever used.
/// </summary>
public static class SdkFeed
{
    static readonly Lazy<(string Feed, string Packages)> Packed = new(Pack, LazyThreadSafetyMode.ExecutionAndPublication);

    public static string FeedDirectory => Packed.Value.Feed;
    public static string PackagesDirectory => Packed.Value.Packages;
    public static string PackagePath => Path.Combine(FeedDirectory, $"Anemos.Sdk.{Repository.Version}.nupkg");

    static readonly Lazy<string> PackedTemplates = new(PackTemplates, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Anemos.Templates (templates/), packed on first use into the same private feed as the SDK.</summary>
    public static string TemplatesPackagePath => PackedTemplates.Value;

    /// <summary>
    /// A folder test.sh names after its ./build.sh packed the same working tree into it
    /// (artifacts/feed): the run copies those packages into its private feed instead of packing
    /// again, which at the start of the end-to-end tier holds up every test that needs the SDK.
    /// </summary>
    const string PackedFeedVariable = "ANEMOS_TEST_PACKED_FEED";

    /// <summary>The package from <see cref="PackedFeedVariable"/>'s folder, copied into <paramref name="feed"/>; false when no such folder is named.</summary>
    static bool TryCopyPacked(string name, string feed)
    {
        if (Environment.GetEnvironmentVariable(PackedFeedVariable) is not { Length: > 0 } packed) return false;
        string package = Path.Combine(packed, $"{name}.{Repository.Version}.nupkg");
        if (!File.Exists(package))
            throw new InvalidOperationException($"{PackedFeedVariable}={packed} has no {Path.GetFileName(package)}: run ./build.sh, or unset it to pack here.");
        File.Copy(package, Path.Combine(feed, Path.GetFileName(package)), overwrite: true);
        return true;
    }

    static string PackTemplates()
    {
        string package = Path.Combine(FeedDirectory, $"Anemos.Templates.{Repository.Version}.nupkg");
        if (TryCopyPacked("Anemos.Templates", FeedDirectory)) return package;
        var result = ProcessRunner.Run("dotnet", ["pack", Repository.PathOf("templates", "Anemos.Templates.csproj"), "-c", "Release", "-o", FeedDirectory, "-nologo", "-v:q", "-nodeReuse:false"],
            Repository.Root, DotnetEnvironment(packages: null), TimeSpan.FromMinutes(5));
        if (result.ExitCode != 0 || !File.Exists(package))
            throw new InvalidOperationException("Packing Anemos.Templates failed:\n" + result);
        return package;
    }

    static (string, string) Pack()
    {
        Tier.RequireEndToEnd(Needs.PackedSdk);
        string root = Path.Combine(Path.GetTempPath(), "anemos-tests", "run-" + Environment.ProcessId + "-" + Guid.NewGuid().ToString("N")[..8]);
        string feed = Path.Combine(root, "feed");
        string packages = Path.Combine(root, "packages");
        Directory.CreateDirectory(feed);
        Directory.CreateDirectory(packages);
        if (TryCopyPacked("Anemos.Sdk", feed)) return (feed, packages);
        // The pack publishes the helper ReadyToRun (crossgen of the whole trimmed framework): on a
        // loaded 2-core machine that alone took over 5 minutes.
        var result = ProcessRunner.Run("dotnet", ["pack", Repository.PathOf("Anemos.Sdk", "Anemos.Sdk.csproj"), "-c", "Release", "-o", feed, "-nologo", "-v:q", "-nodeReuse:false"],
            Repository.Root, DotnetEnvironment(packages: null), TimeSpan.FromMinutes(15));
        if (result.ExitCode != 0 || !File.Exists(Path.Combine(feed, $"Anemos.Sdk.{Repository.Version}.nupkg")))
            throw new InvalidOperationException("Packing Anemos.Sdk failed:\n" + result);
        return (feed, packages);
    }

    public static Dictionary<string, string?> DotnetEnvironment(string? packages) => new()
    {
        ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
        ["DOTNET_NOLOGO"] = "1",
        ["MSBUILDDISABLENODEREUSE"] = "1",
        ["NUGET_PACKAGES"] = packages,
        // Never let the machine's HOST reach a build by accident; tests that need it set it.
        ["HOST"] = null,
        ["SOURCE_DATE_EPOCH"] = null,
    };
}
