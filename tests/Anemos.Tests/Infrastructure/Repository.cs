namespace Anemos.Tests.Infrastructure;

/// <summary>Paths of the repository the tests run in.</summary>
public static class Repository
{
    public static string Root { get; } = FindRoot();

    static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
            if (File.Exists(Path.Combine(directory.FullName, "Anemos.Sdk.sln"))) return directory.FullName;
        throw new InvalidOperationException("The tests must run inside the Anemos.Sdk repository.");
    }

    public static string PathOf(params string[] parts) => Path.Combine([Root, .. parts]);

    /// <summary>The version Directory.Build.props sets (the one place it is set).</summary>
    public static string Version { get; } = System.Text.RegularExpressions.Regex
        .Match(File.ReadAllText(PathOf("Directory.Build.props")), "<AnemosVersion>([^<]+)</AnemosVersion>").Groups[1].Value;

    /// <summary>Where samples/base keeps its Debian packages (fetched by ./build.sh).</summary>
    /// <summary>Where samples/installer keeps its Debian packages (fetched by ./build.sh).</summary>
    public static string InstallerPackages => Environment.GetEnvironmentVariable("ANEMOS_INSTALLER_PACKAGES") is { Length: > 0 } d ? d : PathOf("samples", "installer", ".deps");

    public static string DebianPackages => Environment.GetEnvironmentVariable("ANEMOS_DEBIAN_PACKAGES") is { Length: > 0 } d ? d : PathOf("samples", "base", ".deps");
}
