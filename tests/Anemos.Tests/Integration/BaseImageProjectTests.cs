using System.Text.Json;
using Anemos.Tests.Infrastructure;

namespace Anemos.Tests.Integration;

/// <summary>Base image projects: root file system inputs, kernel modules with their dependencies, the engine, the deploy init, the bootstrappers.</summary>
[EndToEnd(Needs.PackedSdk)]
public sealed class BaseImageProjectTests : IDisposable
{
    readonly string _root = TestProject.NewDirectory();

    public BaseImageProjectTests()
    {
        Directory.CreateDirectory(_root);
        TestProject.WriteSdkConfiguration(_root);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    /// <summary>A kernel tree like an unpacked kernel package: a few fake modules and a modules.dep.</summary>
    static void WriteKernelTree(string directory)
    {
        string modules = Path.Combine(directory, "lib/modules/6.1.0-test");
        foreach (string module in new[] { "kernel/drivers/virtio/virtio_ring.ko", "kernel/drivers/virtio/virtio.ko", "kernel/drivers/block/virtio_blk.ko", "kernel/fs/unused.ko" })
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(modules, module))!);
            File.WriteAllText(Path.Combine(modules, module), "module " + module);
        }
        File.WriteAllText(Path.Combine(modules, "modules.dep"),
            "kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko\n" +
            "kernel/drivers/virtio/virtio.ko: kernel/drivers/virtio/virtio_ring.ko\nkernel/drivers/virtio/virtio_ring.ko:\nkernel/fs/unused.ko:\n");
        File.WriteAllText(Path.Combine(modules, "modules.builtin"), "kernel/fs/ext4/ext4.ko\n");
        Directory.CreateDirectory(Path.Combine(directory, "boot"));
        File.WriteAllBytes(Path.Combine(directory, "boot/vmlinuz-6.1.0-test"), new byte[4096]);
    }

    TestProject BaseProject(string items, string properties = "")
    {
        WriteKernelTree(Path.Combine(_root, "kernel"));
        var project = TestProject.Create($$"""
            <Project Sdk="Anemos.Sdk">
              <PropertyGroup>
                <AnemosProjectKind>BaseImage</AnemosProjectKind>
                <AnemosKernel>../kernel/boot/vmlinuz-6.1.0-test</AnemosKernel>
                <AnemosKernelModulesDirectory>../kernel/lib/modules/6.1.0-test</AnemosKernelModulesDirectory>
                {{properties}}
              </PropertyGroup>
              <ItemGroup>{{items}}</ItemGroup>
            </Project>
            """, "base.proj", Path.Combine(_root, "base"));
        project.Write("rootfs/bin/busybox", "#!/bin/true\n", executable: true);
        project.Write("rootfs/etc/issue", "from a folder\n");
        project.Write("tree/etc/issue", "from the tarball\n");
        project.Write("tree/usr/bin/tool", "#!/bin/sh\n", executable: true);
        Assert.Equal(0, ProcessRunner.Run("tar", ["-czf", project.PathOf("extra.tar.gz"), "-C", project.PathOf("tree"), "."]).ExitCode);
        project.Write("makeimg", "#!/bin/sh\necho makeimg\n");
        project.Write("apk", "#!/bin/sh\necho apk\n");
        return project;
    }

    const string FullItems = """
        <AnemosRootfs Include="rootfs" />
        <AnemosRootfs Include="extra.tar.gz" />
        <AnemosBaseSymlink Include="bin/sh" LinkTarget="busybox" />
        <AnemosBaseFile Include="apk" TargetPath="sbin/apk" Mode="0755" />
        <AnemosKernelModule Include="virtio_blk;ext4" />
        """;

    static string SdkFile(string path) => Path.Combine(SdkFeed.PackagesDirectory, "anemos.sdk", Repository.Version, path);

    [Fact]
    public void ComposesRootfsModulesAndTheDeployInit()
    {
        using var project = BaseProject(FullItems);
        var result = project.Build();
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("anemos base image:", result.Output);

        string image = project.PathOf("bin/anemos/base.img");
        Assert.Equal(0, ProcessRunner.Run("gzip", "-t", image).ExitCode);
        var list = ProcessRunner.Shell($"zcat '{image}' | cpio -itv --quiet");
        Assert.True(list.ExitCode == 0, list.ToString());
        Assert.Matches(@"-rwxr-xr-x .* init\n", list.Output);
        Assert.Matches(@"crw------- .* 5,\s+1 .* dev/console\n", list.Output);
        Assert.Matches(@"lrwxrwxrwx .* bin/sh -> busybox\n", list.Output);
        Assert.Matches(@"-rwxr-xr-x .* usr/bin/makeimg\n", list.Output);
        Assert.Matches(@"-rwxr-xr-x .* sbin/apk\n", list.Output);
        Assert.Matches(@"-rwxr-xr-x .* usr/bin/tool\n", list.Output);
        Assert.Contains("lib/modules/6.1.0-test/kernel/drivers/block/virtio_blk.ko", list.Output);
        Assert.DoesNotContain("unused.ko", list.Output);

        string extracted = project.PathOf("extracted");
        Directory.CreateDirectory(extracted);
        Assert.Equal(0, ProcessRunner.Shell($"zcat '{image}' | cpio -id --quiet --no-absolute-filenames 'init' 'etc/*' 'lib/*' 'usr/bin/makeimg'", extracted).ExitCode);
        Assert.Equal("from the tarball\n", File.ReadAllText(Path.Combine(extracted, "etc/issue"))); // later inputs win
        Assert.Equal(File.ReadAllText(SdkFile("init/anemos-init")), File.ReadAllText(Path.Combine(extracted, "init")));
        Assert.Equal(File.ReadAllBytes(SdkFile("engine/makeimg")), File.ReadAllBytes(Path.Combine(extracted, "usr/bin/makeimg"))); // every base carries the engine
        Assert.Equal(
            "/lib/modules/6.1.0-test/kernel/drivers/virtio/virtio_ring.ko\n/lib/modules/6.1.0-test/kernel/drivers/virtio/virtio.ko\n/lib/modules/6.1.0-test/kernel/drivers/block/virtio_blk.ko\n",
            File.ReadAllText(Path.Combine(extracted, "etc/anemos/modules")));
        Assert.DoesNotContain("unused", File.ReadAllText(Path.Combine(extracted, "lib/modules/6.1.0-test/modules.dep")));

        var description = JsonDocument.Parse(File.ReadAllText(project.PathOf("bin/anemos/base-image.json"))).RootElement;
        Assert.Equal("makeimg", description.GetProperty("engine").GetString());
        Assert.Equal(["alpine"], description.GetProperty("bootstrappers").EnumerateArray().Select(e => e.GetString()));
        Assert.True(description.GetProperty("hasBusybox").GetBoolean());
        Assert.Equal("6.1.0-test", description.GetProperty("kernelRelease").GetString());
    }

    [Fact]
    public void AHostProjectUsesTheBaseThroughAProjectReference()
    {
        using var baseProject = BaseProject(FullItems);
        var host = TestProject.Create("""
            <Project Sdk="Anemos.Sdk">
              <ItemGroup>
                <ProjectReference Include="../base/base.proj" />
                <AnemosHost Include="x" />
              </ItemGroup>
            </Project>
            """, "host.proj", Path.Combine(_root, "host"));
        host.Write("IMGBUILD", "target=alpine\nformat=\"raw 2G msdos ext4\"\npackages=\"alpine-base\"\n");
        var result = host.Build();
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.DoesNotContain("ANEMOS3013", result.Output); // this base has apk: it bootstraps alpine
        Assert.Equal(File.ReadAllBytes(baseProject.PathOf("bin/anemos/base.img")), File.ReadAllBytes(host.PathOf("bin/anemos/base.img")));
        Assert.Equal(File.ReadAllBytes(baseProject.PathOf("bin/anemos/vmlinuz")), File.ReadAllBytes(host.PathOf("bin/anemos/vmlinuz")));

        // A debian IMGBUILD on the same base: refused, naming what the base lacks; a deploy never contacts the host.
        host.Write("IMGBUILD", "target=debian\nformat=\"raw 2G msdos ext4\"\npackages=\"openssh-server\"\n");
        File.Delete(host.PathOf("bin/anemos/hosts/x/initramfs.img"));
        var refused = BadInput.AssertError(host, "ANEMOS3013");
        Assert.Contains("target is debian", refused.Output);
        Assert.Contains("mmdebstrap, apt, gpgv and debian-archive-keyring", refused.Output);
        Assert.Contains("it bootstraps: alpine", refused.Output);
        var publish = host.Dotnet(["publish", host.ProjectFile, "-nologo", "-p:Host=x"]);
        Assert.NotEqual(0, publish.ExitCode);
        Assert.Contains("error ANEMOS3013", publish.Output);
        Assert.DoesNotContain("deploy x: connect", publish.Output);

        // Without apk the alpine IMGBUILD is refused too (also on an up-to-date payload), and the text says what to add.
        host.Write("IMGBUILD", "target=alpine\nformat=\"raw 2G msdos ext4\"\npackages=\"alpine-base\"\n");
        Assert.True(host.Build().ExitCode == 0);
        File.Delete(host.PathOf("bin/anemos/hosts/x/initramfs.img"));
        File.WriteAllText(baseProject.ProjectFile, File.ReadAllText(baseProject.ProjectFile).Replace("""<AnemosBaseFile Include="apk" TargetPath="sbin/apk" Mode="0755" />""", ""));
        var withoutApk = BadInput.AssertError(host, "ANEMOS3013").Output;
        Assert.Contains("apk-tools-static", withoutApk);
        Assert.Contains("it bootstraps: nothing", withoutApk);

        // A target computed at run time cannot be checked, but a base that bootstraps nothing cannot install any.
        host.Write("IMGBUILD", "target=${TARGET:-alpine}\nformat=\"raw 2G msdos ext4\"\npackages=\"alpine-base\"\n");
        Assert.Contains("(computed at run time)", BadInput.AssertError(host, "ANEMOS3013").Output);
    }

    [Fact]
    public void ABuildFromAnotherPackageFolderLeavesTheNextBuildANoOp()
    {
        using var baseProject = BaseProject(FullItems);
        using var host = TestProject.Create("""
            <Project Sdk="Anemos.Sdk">
              <ItemGroup>
                <ProjectReference Include="../base/base.proj" />
                <AnemosHost Include="x" />
                <AnemosHost Include="y" />
              </ItemGroup>
            </Project>
            """, "host.proj", Path.Combine(_root, "host"));
        host.Write("IMGBUILD", "target=alpine\nformat=\"raw 2G msdos ext4\"\npackages=\"alpine-base\"\n");
        string firstFolder = host.Environment["NUGET_PACKAGES"]!;
        // Another NuGet package folder (another NUGET_PACKAGES, a cleared cache, a CI cache path): the SDK's
        // deploy init and engine have other paths, so the base is built again, with the same bytes.
        string otherFolder = Path.Combine(_root, "other-packages");

        foreach (string folder in new[] { firstFolder, otherFolder, firstFolder })
        {
            host.Environment["NUGET_PACKAGES"] = folder;
            var build = host.Build("-v:d");
            Assert.True(build.ExitCode == 0, build.ToString());
            var next = host.Build("-v:d");
            Assert.True(next.ExitCode == 0, next.ToString());
            Assert.DoesNotMatch(IncrementalBuildTests.AnemosTask, next.Output);
        }
    }

    [Fact]
    public void TheBaseRecordsTheTargetsItCanBootstrap()
    {
        using var baseProject = BaseProject(FullItems);
        baseProject.Write("rootfs/usr/bin/pacstrap", "#!/bin/bash\n", executable: true);
        baseProject.Write("rootfs/usr/bin/pacman", "ELF\n", executable: true);
        baseProject.Write("rootfs/usr/share/keyrings/archlinux.gpg", "keys\n");
        // debian's tools without its archive keyring: only for an IMGBUILD with keys/ (issue 28).
        baseProject.Write("rootfs/usr/bin/mmdebstrap", "#!/usr/bin/perl\n", executable: true);
        baseProject.Write("rootfs/usr/bin/apt-get", "ELF\n", executable: true);
        baseProject.Write("rootfs/usr/bin/gpgv", "ELF\n", executable: true);
        var result = baseProject.Build();
        Assert.True(result.ExitCode == 0, result.ToString());
        var description = JsonDocument.Parse(File.ReadAllText(baseProject.PathOf("bin/anemos/base-image.json"))).RootElement;
        Assert.Equal(["alpine", "arch"], description.GetProperty("bootstrappers").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["debian"], description.GetProperty("bootstrappersWithoutKeyring").EnumerateArray().Select(e => e.GetString()));
        var output = baseProject.Dotnet(["msbuild", baseProject.ProjectFile, "-nologo", "-t:GetAnemosBaseImage", "-getItem:_AnemosBaseImageOutput"]);
        Assert.True(output.ExitCode == 0, output.ToString());
        Assert.Contains("\"Bootstrappers\": \"alpine;arch\"", output.Output);
    }

    [Theory]
    [InlineData("module-missing", """<AnemosKernelModule Include="nosuchmodule" />""", "", "ANEMOS3010")]
    [InlineData("modules-dep-missing", """<AnemosKernelModule Include="virtio" />""", "<AnemosKernelModulesDirectory>../kernel/boot</AnemosKernelModulesDirectory>", "ANEMOS3011")]
    [InlineData("rootfs-missing", """<AnemosRootfs Include="nowhere" />""", "", "ANEMOS3012")]
    [InlineData("rootfs-not-archive", """<AnemosRootfs Include="rootfs/etc/issue" />""", "", "ANEMOS3012")]
    [InlineData("file-without-target", """<AnemosBaseFile Include="makeimg" />""", "", "ANEMOS3012")]
    [InlineData("init-missing", "", "<AnemosDeployInit>no-init</AnemosDeployInit>", "ANEMOS3018")]
    [InlineData("engine-missing", "", "<AnemosEngine>no-engine</AnemosEngine>", "ANEMOS3021")]
    [InlineData("bad-compression", "", "<AnemosBaseCompression>lz4</AnemosBaseCompression>", "ANEMOS3022")]
    [InlineData("no-kernel", "", "<AnemosKernel></AnemosKernel>", "ANEMOS3020")]
    public void IsRefused(string name, string items, string properties, string code)
    {
        using var project = BaseProject(items, properties);
        BadInput.AssertError(project, code);
        Assert.False(File.Exists(project.PathOf("bin/anemos/base.img")), name);
    }

    [Fact]
    public void ATarballCannotWriteThroughASymlinkItMade()
    {
        using var project = BaseProject("""<AnemosRootfs Include="evil.tar" />""");
        // `lib -> VICTIM`, then `lib/owned.txt`: extracting naively writes VICTIM/owned.txt.
        string victim = Path.Combine(_root, "victim");
        Directory.CreateDirectory(victim);
        Directory.CreateDirectory(project.PathOf("evil/link"));
        Directory.CreateDirectory(project.PathOf("evil/file/lib"));
        File.CreateSymbolicLink(project.PathOf("evil/link/lib"), victim);
        File.WriteAllText(project.PathOf("evil/file/lib/owned.txt"), "owned\n");
        Assert.Equal(0, ProcessRunner.Run("tar", ["-cf", project.PathOf("evil.tar"), "-C", project.PathOf("evil/link"), "lib"]).ExitCode);
        Assert.Equal(0, ProcessRunner.Run("tar", ["-rf", project.PathOf("evil.tar"), "-C", project.PathOf("evil/file"), "lib/owned.txt"]).ExitCode);
        Assert.Matches(@"lib -> .*victim\n.*lib/owned\.txt", ProcessRunner.Run("tar", "-tvf", project.PathOf("evil.tar")).Output);

        var result = BadInput.AssertError(project, "ANEMOS3012");
        Assert.Contains("below 'lib', which the archive made a symlink", result.Output);
        Assert.Empty(Directory.EnumerateFileSystemEntries(victim));
        Assert.False(File.Exists(project.PathOf("bin/anemos/base.img")));
    }
}
