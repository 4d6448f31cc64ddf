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
            "build/Anemos.HelperVariants.props",
            "build/Anemos.Host.targets",
            "build/Anemos.Rehearse.targets",
            "build/Anemos.Sdk.Version.props",
            "build/Anemos.Sdk.props",
            "build/Anemos.Sdk.targets",
            "build/Anemos.SourceDateEpoch.targets",
            "build/Anemos.Stage.targets",
            "engine/makeimg",
            "init/anemos-init",
            "tools/helper/linux-arm64/anemos-kexec",
            "tools/helper/linux-arm64/anemos-kexec.gz",
            "tools/helper/linux-arm64/anemos-kexec.gz.sha256",
            "tools/helper/linux-arm64/anemos-kexec.min-glibc",
            "tools/helper/linux-musl-x64/anemos-kexec",
            "tools/helper/linux-musl-x64/anemos-kexec.gz",
            "tools/helper/linux-musl-x64/anemos-kexec.gz.sha256",
            "tools/helper/linux-musl-x64/anemos-kexec.min-glibc",
            "tools/helper/linux-x64-readytorun/anemos-kexec",
            "tools/helper/linux-x64-readytorun/anemos-kexec.gz",
            "tools/helper/linux-x64-readytorun/anemos-kexec.gz.sha256",
            "tools/helper/linux-x64-readytorun/anemos-kexec.min-glibc",
            "tools/helper/linux-x64/anemos-kexec",
            "tools/helper/linux-x64/anemos-kexec.gz",
            "tools/helper/linux-x64/anemos-kexec.gz.sha256",
            "tools/helper/linux-x64/anemos-kexec.min-glibc",
            "tools/net10.0/Anemos.Core.dll",
            "tools/net10.0/Anemos.Tasks.dll",
            "tools/net10.0/NuGet.Versioning.dll",
        ], files);
    }

    /// <summary>The variants build/Anemos.HelperVariants.props names, in its order: the default first.</summary>
    static IReadOnlyList<string> VariantNames()
    {
        var props = XDocument.Load(Repository.PathOf("Anemos.Sdk", "build", "Anemos.HelperVariants.props"));
        string defaultName = props.Descendants("_AnemosHelperDefaultVariant").Single().Value;
        return [.. props.Descendants("_AnemosHelperVariant").Select(v => v.Attribute("Include")!.Value.Replace("$(_AnemosHelperDefaultVariant)", defaultName))];
    }

    [Fact]
    public void CarriesEveryHelperVariantWithItsGzippedHelpersSha256InSha256sumsFormat()
    {
        using var package = ZipFile.OpenRead(SdkFeed.PackagePath);
        Assert.Equal(["linux-x64", "linux-x64-readytorun", "linux-musl-x64", "linux-arm64"], VariantNames());
        foreach (string variant in VariantNames())
        {
            using var gzip = package.GetEntry($"tools/helper/{variant}/anemos-kexec.gz")!.Open();
            string sha256 = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(gzip));
            using var reader = new StreamReader(package.GetEntry($"tools/helper/{variant}/anemos-kexec.gz.sha256")!.Open());
            Assert.Equal($"{sha256}  anemos-kexec.gz\n", reader.ReadToEnd());
        }
    }

    /// <summary>
    /// Each variant is an x86_64 ELF program whose .min-glibc names the newest GLIBC_ version among the symbols
    /// it binds, as readelf reads them again here: NativeAOT linked on Debian 12 needs 2.34; the ReadyToRun
    /// build, linked by Microsoft against an old sysroot, serves the older hosts (RHEL 8 has 2.28). The musl
    /// build binds no glibc symbol, needs no library but musl's libc and names musl's loader; the arm64 one
    /// needs 2.34 as the x86_64 default.
    /// </summary>
    [Fact]
    public void EachVariantNamesTheOldestGlibcItsSymbolsNeed()
    {
        using var package = ZipFile.OpenRead(SdkFeed.PackagePath);
        using var folder = new Anemos.Tests.Tasks.InProcess.TempFolder();
        var variants = new List<Anemos.Tasks.Deploy.HelperVariant>();
        foreach (string variant in VariantNames())
        {
            string file = Path.Combine(folder.Path, variant, "anemos-kexec");
            Directory.CreateDirectory(Path.GetDirectoryName(file)!);
            package.GetEntry($"tools/helper/{variant}/anemos-kexec")!.ExtractToFile(file);
            package.GetEntry($"tools/helper/{variant}/anemos-kexec.min-glibc")!.ExtractToFile(file + ".min-glibc");
            var symbols = ProcessRunner.Run("readelf", "--dyn-syms", "--wide", file);
            Assert.True(symbols.ExitCode == 0, symbols.ToString());
            var newest = System.Text.RegularExpressions.Regex.Matches(symbols.StandardOutput, @"GLIBC_(\d+\.\d+(?:\.\d+)?)")
                .Select(m => Version.Parse(m.Groups[1].Value)).Max();
            var loaded = Anemos.Tasks.Deploy.HelperVariant.Load(variant, file);
            Assert.Equal(variant == "linux-arm64" ? "aarch64" : "x86_64", loaded.Machine);
            Assert.Equal(newest, loaded.MinimumGlibc);
            variants.Add(loaded);
        }
        Assert.Equal(new Version(2, 34), variants[0].MinimumGlibc);
        Assert.True(variants[1].MinimumGlibc <= new Version(2, 28), $"linux-x64-readytorun needs glibc {variants[1].MinimumGlibc}");
        var musl = variants[2];
        Assert.Equal(("linux-musl-x64", null, "/lib/ld-musl-x86_64.so.1", true), (musl.Name, musl.MinimumGlibc, musl.Loader, musl.NeedsMusl));
        var needed = ProcessRunner.Run("readelf", "--dynamic", "--wide", musl.File);
        Assert.Equal(["libc.so"], System.Text.RegularExpressions.Regex.Matches(needed.StandardOutput, @"\(NEEDED\).*\[(.+)\]").Select(m => m.Groups[1].Value));
        // arm64: NativeAOT linked against Debian 12's arm64 cross glibc, as the x86_64 default.
        Assert.Equal(("/lib/ld-linux-aarch64.so.1", new Version(2, 34)), (variants[3].Loader, variants[3].MinimumGlibc));
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
