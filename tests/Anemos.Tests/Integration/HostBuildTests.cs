using System.Text.Json;
using Anemos.Core.Hashing;
using Anemos.Core.Manifest;
using Anemos.Tests.Infrastructure;

namespace Anemos.Tests.Integration;

/// <summary>A real `dotnet build` of a host project, its artifacts read back by GNU tar and cpio.</summary>
[EndToEnd(Needs.PackedSdk)]
public sealed class HostBuildTests : IDisposable
{
    readonly TestProject _project = TestProject.CreateDeployProject();

    public void Dispose() => _project.Dispose();

    string Artifact(string relative) => _project.PathOf(Path.Combine("bin", "anemos", relative));

    ProcessResult BuildOk(params string[] arguments)
    {
        var result = _project.Build(arguments);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.DoesNotContain("MSB4018", result.Output);
        return result;
    }

    [Fact]
    public void BuildsEveryHostAndPrintsOneSummaryLineEach()
    {
        var result = BuildOk();
        Assert.Matches(@"anemos x: payload \d+(\.\d)? (B|KiB), initramfs [\d.]+ KiB, sha256 [0-9a-f]{12}", result.Output);
        Assert.Matches(@"anemos y: payload", result.Output);
        foreach (string host in new[] { "x", "y" })
            foreach (string file in new[] { "overlay.cpio", "initramfs.img", "manifest.json" })
                Assert.True(File.Exists(Artifact($"hosts/{host}/{file}")), $"{host}/{file} is missing");
        Assert.Empty(Directory.GetFiles(_project.PathOf("bin"), "*.tmp", SearchOption.AllDirectories));
    }

    [Fact]
    public void PayloadIsReadByGnuTarWithRootOwnersModesAndOneTime()
    {
        BuildOk();
        var list = ProcessRunner.Run("tar", "--numeric-owner", "-tvzf", Artifact("payload.tar.gz"));
        Assert.True(list.ExitCode == 0, list.ToString());
        string[] lines = list.Output.Trim().Split('\n');
        Assert.Equal(["deploy", "files/", "files/etc/", "files/etc/motd", "files/usr/", "files/usr/local/", "files/usr/local/bin/", "files/usr/local/bin/tool"],
            lines.Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[^1]));
        Assert.All(lines, l => Assert.Contains(" 0/0 ", l));
        Assert.All(lines, l => Assert.Contains("1970-01-01 00:00", l));
        Assert.StartsWith("-rwxr-xr-x", lines[0]);
        Assert.StartsWith("-rw-r--r--", lines[3]);
        Assert.StartsWith("-rwxr-xr-x", lines[7]);
        // Never the project file, global.json, nuget.config, bin/ or obj/.
        Assert.DoesNotContain("host.proj", list.Output);
        Assert.DoesNotContain("nuget.config", list.Output);
        Assert.DoesNotContain("obj/", list.Output);
    }

    [Fact]
    public void OverlayHoldsTheContractFilesAndHostEnvIsSafeShell()
    {
        BuildOk();
        string overlay = Artifact("hosts/y/overlay.cpio");
        var list = ProcessRunner.Shell($"cpio -itv --quiet < '{overlay}'");
        Assert.True(list.ExitCode == 0, list.ToString());
        Assert.Matches(@"^drwxr-xr-x .* anemos\n-rw-r--r-- .* anemos/host.env\n-rw-r--r-- .* anemos/payload.tar.gz\n$", list.Output);

        string extracted = _project.PathOf("extracted");
        Directory.CreateDirectory(extracted);
        Assert.Equal(0, ProcessRunner.Shell($"cpio -id --quiet < '{overlay}'", extracted).ExitCode);
        Assert.Equal(File.ReadAllBytes(Artifact("payload.tar.gz")), File.ReadAllBytes(Path.Combine(extracted, "anemos", "payload.tar.gz")));

        // Source host.env in a real shell: values arrive exactly, nothing in them runs.
        string hostEnv = Path.Combine(extracted, "anemos", "host.env");
        var sourced = ProcessRunner.Run("/bin/sh", "-c", $". '{hostEnv}' && printf '%s|%s|%s|%s|%s' \"$ANEMOS_HOST\" \"$IPV4\" \"$NOTE\" \"$ANEMOS_PAYLOAD_KIND\" \"$ANEMOS_PAYLOAD_SHA256\"");
        Assert.True(sourced.ExitCode == 0, sourced.ToString());
        string payloadSha = FileDigest.OfFile(Artifact("payload.tar.gz")).Sha256;
        Assert.Equal($"y|192.0.2.2|it's \"quoted\" $(not) `run`|deploy|{payloadSha}", sourced.Output);
        Assert.DoesNotContain("Address", File.ReadAllText(hostEnv));
    }

    [Fact]
    public void InitramfsIsBasePaddingOverlayAndTheManifestNamesEveryByte()
    {
        BuildOk();
        byte[] baseBytes = File.ReadAllBytes(_project.PathOf("image/base.cpio"));
        byte[] overlay = File.ReadAllBytes(Artifact("hosts/x/overlay.cpio"));
        byte[] initramfs = File.ReadAllBytes(Artifact("hosts/x/initramfs.img"));
        int padding = (4 - baseBytes.Length % 4) % 4;
        Assert.NotEqual(0, padding);
        Assert.Equal(baseBytes.Length + padding + overlay.Length, initramfs.Length);
        Assert.Equal(baseBytes, initramfs[..baseBytes.Length]);
        Assert.Equal(overlay, initramfs[(baseBytes.Length + padding)..]);

        // GNU cpio reads the base and then, after the padding, the overlay.
        var both = ProcessRunner.Shell($"(cpio -it --quiet; cpio -it --quiet) < '{Artifact("hosts/x/initramfs.img")}'");
        Assert.Contains("bin/hello", both.Output);

        var manifest = AnemosManifest.Parse(File.ReadAllText(Artifact("hosts/x/manifest.json")));
        Assert.Equal("x", manifest.Host);
        Assert.Equal(Repository.Version, manifest.SdkVersion);
        Assert.Equal(FileDigest.OfFile(Artifact("vmlinuz")).Sha256, manifest.Kernel.Sha256);
        Assert.Equal(FileDigest.OfFile(_project.PathOf("image/kernel.bin")), new FileDigest(manifest.Kernel.Sha256, manifest.Kernel.Size));
        Assert.Equal(FileDigest.OfFile(_project.PathOf("image/base.cpio")), new FileDigest(manifest.Base.Sha256, manifest.Base.Size));
        Assert.Equal(FileDigest.OfFile(Artifact("payload.tar.gz")), new FileDigest(manifest.Payload.Sha256, manifest.Payload.Size));
        Assert.Equal(FileDigest.OfFile(Artifact("hosts/x/overlay.cpio")), new FileDigest(manifest.Overlay.Sha256, manifest.Overlay.Size));
        Assert.Equal(FileDigest.OfBytes(initramfs), new FileDigest(manifest.Initramfs.Sha256, manifest.Initramfs.Size));
        Assert.Equal("none", manifest.OverlayCompression);
        // The SDK's own arguments (docs/deploy.md, "The deploy kernel's command line"); the project sets none.
        Assert.Equal("rootfstype=ramfs mitigations=off init_on_alloc=0", manifest.CommandLine);
    }

    [Fact]
    public void OutputPathsAnswerWithoutBuilding()
    {
        var result = _project.Dotnet(["build", _project.ProjectFile, "-nologo", "-p:Host=y",
            "-getProperty:AnemosInitramfsPath", "-getProperty:AnemosManifestPath", "-getProperty:AnemosOverlayPath",
            "-getProperty:AnemosPayloadPath", "-getProperty:AnemosKernelPath"]);
        Assert.True(result.ExitCode == 0, result.ToString());
        var properties = JsonDocument.Parse(result.Output[result.Output.IndexOf('{')..]).RootElement.GetProperty("Properties");
        Assert.Equal(Artifact("hosts/y/initramfs.img"), properties.GetProperty("AnemosInitramfsPath").GetString());
        Assert.Equal(Artifact("hosts/y/manifest.json"), properties.GetProperty("AnemosManifestPath").GetString());
        Assert.Equal(Artifact("hosts/y/overlay.cpio"), properties.GetProperty("AnemosOverlayPath").GetString());
        Assert.Equal(Artifact("payload.tar.gz"), properties.GetProperty("AnemosPayloadPath").GetString());
        Assert.Equal(Artifact("vmlinuz"), properties.GetProperty("AnemosKernelPath").GetString());
        Assert.False(Directory.Exists(_project.PathOf("bin")), "asking for a path must not build");
    }

    [Fact]
    public void ArtifactItemsListWhatCiKeeps()
    {
        var result = _project.Dotnet(["build", _project.ProjectFile, "-nologo", "-p:Host=x", "-getItem:AnemosArtifact"]);
        Assert.True(result.ExitCode == 0, result.ToString());
        var items = JsonDocument.Parse(result.Output[result.Output.IndexOf('{')..]).RootElement.GetProperty("Items").GetProperty("AnemosArtifact")
            .EnumerateArray().Select(i => (i.GetProperty("Kind").GetString(), i.GetProperty("FullPath").GetString())).ToList();
        Assert.Equal(
            [("payload", Artifact("payload.tar.gz")), ("kernel", Artifact("vmlinuz")), ("base", Artifact("base.img")),
             ("overlay", Artifact("hosts/x/overlay.cpio")), ("initramfs", Artifact("hosts/x/initramfs.img")), ("manifest", Artifact("hosts/x/manifest.json"))],
            items);
    }

    [Fact]
    public void OneHostBuildsOnlyThatHost()
    {
        var result = BuildOk("-p:Host=Y");
        Assert.Contains("anemos y:", result.Output);
        Assert.DoesNotContain("anemos x:", result.Output);
        Assert.True(File.Exists(Artifact("hosts/y/initramfs.img")));
        Assert.False(File.Exists(Artifact("hosts/x/initramfs.img")));
    }

    [Fact]
    public void TheHostEnvironmentVariableNeverSelectsAHost()
    {
        _project.Environment["HOST"] = "y";
        var result = BuildOk();
        Assert.Contains("anemos x:", result.Output);
        Assert.Contains("anemos y:", result.Output);
        var path = _project.Dotnet(["build", _project.ProjectFile, "-nologo", "-getProperty:AnemosInitramfsPath"]);
        Assert.Equal("", path.Output.Trim());
    }

    [Theory]
    [InlineData("gzip", "overlay.cpio.gz", "gzip -dc")]
    [InlineData("zstd", "overlay.cpio.zst", "zstd -dcq")]
    public void CompressedOverlaysAreReadByTheirTools(string compression, string fileName, string decompress)
    {
        BuildOk($"-p:AnemosOverlayCompression={compression}");
        string overlay = Artifact($"hosts/x/{fileName}");
        var list = ProcessRunner.Shell($"{decompress} '{overlay}' | cpio -it --quiet");
        Assert.True(list.ExitCode == 0, list.ToString());
        Assert.Equal("anemos\nanemos/host.env\nanemos/payload.tar.gz\n", list.Output);
        if (compression == "zstd") Assert.Equal(0, ProcessRunner.Run("zstd", "-tq", overlay).ExitCode);
        var manifest = AnemosManifest.Parse(File.ReadAllText(Artifact("hosts/x/manifest.json")));
        Assert.Equal(compression, manifest.OverlayCompression);
    }

    [Fact]
    public void CleanRemovesTheArtifacts()
    {
        BuildOk();
        var clean = _project.Dotnet(["clean", _project.ProjectFile, "-nologo"]);
        Assert.True(clean.ExitCode == 0, clean.ToString());
        Assert.False(File.Exists(Artifact("hosts/x/initramfs.img")));
        Assert.False(File.Exists(Artifact("payload.tar.gz")));
        Assert.False(Directory.Exists(_project.PathOf("obj/anemos")));
    }

    [Fact]
    public void PublishNamesTheServerItReboots()
    {
        var result = _project.Dotnet(["publish", _project.ProjectFile, "-nologo"]);
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("error ANEMOS4006", result.Output);
        Assert.Contains("hosts: x, y", result.Output);
    }
}

/// <summary>The deploy init unpacks the payload with busybox tar: long names, links and modes must survive it.</summary>
[EndToEnd(Needs.PackedSdk)]
public sealed class PayloadUnpackTests : IDisposable
{
    readonly TestProject _project = TestProject.CreateDeployProject();

    public void Dispose() => _project.Dispose();

    [Fact]
    public void BusyboxTarUnpacksLongNamesLinksAndModes()
    {
        string longDirectory = "files/" + string.Join('/', Enumerable.Range(0, 12).Select(i => $"directory-number-{i:00}"));
        string longFile = longDirectory + "/" + new string('n', 120) + ".conf";
        _project.Write(longFile, "deep\n");
        File.CreateSymbolicLink(_project.PathOf("files/etc/long-link"), "../" + longFile["files/".Length..]);
        var build = _project.Build();
        Assert.True(build.ExitCode == 0, build.ToString());

        string target = _project.PathOf("unpacked");
        Directory.CreateDirectory(target);
        var unpack = ProcessRunner.Run("busybox", ["tar", "-xzf", _project.PathOf("bin/anemos/payload.tar.gz"), "-C", target]);
        Assert.True(unpack.ExitCode == 0, unpack.ToString());
        Assert.Equal("deep\n", File.ReadAllText(Path.Combine(target, longFile)));
        Assert.Equal("../" + longFile["files/".Length..], new FileInfo(Path.Combine(target, "files/etc/long-link")).LinkTarget);
        Assert.True((File.GetUnixFileMode(Path.Combine(target, "deploy")) & UnixFileMode.UserExecute) != 0);

        // GNU tar agrees, and the archive has no per-process header names.
        var list = ProcessRunner.Run("tar", "-tzf", _project.PathOf("bin/anemos/payload.tar.gz"));
        Assert.Contains(longFile + "\n", list.Output);
        var raw = ProcessRunner.Shell($"gzip -dc '{_project.PathOf("bin/anemos/payload.tar.gz")}' | strings | grep -c PaxHeaders || true");
        Assert.Equal("0", raw.Output.Trim());
    }
}
