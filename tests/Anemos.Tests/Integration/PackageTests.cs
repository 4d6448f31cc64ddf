using System.IO.Compression;
using System.Xml.Linq;
using Anemos.Tests.Infrastructure;

namespace Anemos.Tests.Integration;

/// <summary>The Anemos.Sdk package holds exactly what an MSBuild SDK needs, and nothing it must not.</summary>
[EndToEnd(Needs.PackedSdk)]
public sealed class PackageTests
{
    [Fact]
    public void HoldsExactlyTheSdkFiles()
    {
        using var package = ZipFile.OpenRead(SdkFeed.PackagePath);
        var files = package.Entries.Select(e => e.FullName)
            .Where(n => !n.StartsWith("_rels/") && !n.StartsWith("package/") && n != "[Content_Types].xml")
            .Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(
        [
            "Anemos.Sdk.nuspec",
            "README.md",
            "Sdk/Sdk.props",
            "Sdk/Sdk.targets",
            "build/Anemos.BaseImage.targets",
            "build/Anemos.Deploy.targets",
            "build/Anemos.Host.targets",
            "build/Anemos.Rehearse.targets",
            "build/Anemos.Sdk.Version.props",
            "build/Anemos.Sdk.props",
            "build/Anemos.Sdk.targets",
            "build/Anemos.SourceDateEpoch.targets",
            "build/Anemos.Stage.targets",
            "engine/makeimg",
            "init/anemos-init",
            "tools/helper/linux-x64/anemos-kexec",
            "tools/helper/linux-x64/anemos-kexec.gz",
            "tools/helper/linux-x64/anemos-kexec.gz.sha256",
            "tools/net10.0/Anemos.Core.dll",
            "tools/net10.0/Anemos.Tasks.dll",
            "tools/net10.0/NuGet.Versioning.dll",
        ], files);
    }

    [Fact]
    public void CarriesTheGzippedHelpersSha256InSha256sumsFormat()
    {
        using var package = ZipFile.OpenRead(SdkFeed.PackagePath);
        using var gzip = package.GetEntry("tools/helper/linux-x64/anemos-kexec.gz")!.Open();
        string sha256 = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(gzip));
        using var reader = new StreamReader(package.GetEntry("tools/helper/linux-x64/anemos-kexec.gz.sha256")!.Open());
        Assert.Equal($"{sha256}  anemos-kexec.gz\n", reader.ReadToEnd());
    }

    [Fact]
    public void IsAnMsBuildSdkWithoutDependencies()
    {
        using var package = ZipFile.OpenRead(SdkFeed.PackagePath);
        using var nuspec = package.GetEntry("Anemos.Sdk.nuspec")!.Open();
        var document = XDocument.Load(nuspec);
        XNamespace ns = document.Root!.Name.Namespace;
        var metadata = document.Root.Element(ns + "metadata")!;
        Assert.Equal(Repository.Version, metadata.Element(ns + "version")!.Value);
        Assert.Equal("MSBuildSdk", metadata.Element(ns + "packageTypes")!.Element(ns + "packageType")!.Attribute("name")!.Value);
        Assert.Null(metadata.Element(ns + "dependencies"));
    }

    [Fact]
    public void TheDeployInitIsValidShell()
    {
        var result = ProcessRunner.Run("/bin/sh", "-n", Repository.PathOf("Anemos.Sdk", "init", "anemos-init"));
        Assert.True(result.ExitCode == 0, result.ToString());
    }

    [Fact]
    public void TheSamplesPinTheVersionTheRepositoryBuilds()
    {
        string globalJson = File.ReadAllText(Repository.PathOf("samples", "global.json"));
        Assert.Contains($"\"Anemos.Sdk\": \"{Repository.Version}\"", globalJson);
    }
}
