using Anemos.Tests.Infrastructure;

namespace Anemos.Tests.Integration;

/// <summary>Broken IMGBUILDs: each finding has its own code and names the line.</summary>
[EndToEnd(Needs.PackedSdk)]
public sealed class BadImgbuildTests
{
    const string Good = "target=arch\nformat=\"raw 8G gpt ext4\"\npackages=\"base linux\"\n";

    static TestProject ImgbuildProject(string imgbuild)
    {
        var project = TestProject.Create(TestProject.HostProject("<AnemosHost Include=\"x\" />"));
        project.WriteFakeBaseImage("image/kernel.bin", "image/base.cpio");
        project.Write("IMGBUILD", imgbuild);
        project.Write("files/etc/hostname", "x\n");
        return project;
    }

    [Theory]
    [InlineData("unterminated-quote", "target='arch\nformat=raw\npackages=base\n", "ANEMOS2001", 1)]
    [InlineData("if-without-fi", Good + "if true; then\n  echo\n", "ANEMOS2001", 0)]
    [InlineData("no-target", "format=raw\npackages=base\n", "ANEMOS2002", 0)]
    [InlineData("unknown-target", "target=gentoo\nformat=raw\npackages=base\n", "ANEMOS2003", 1)]
    [InlineData("suite-without-debian", Good + "debian_suite=bookworm\n", "ANEMOS2004", 4)]
    [InlineData("arch-mirror-without-arch", "target=debian\nformat=raw\npackages=base\narch_mirror=https://geo.mirror.pkgbuild.com/\n", "ANEMOS2018", 4)]
    [InlineData("arch-mirror-not-a-url", Good + "arch_mirror='mirror.example.net/$repo/os/$arch'\n", "ANEMOS2019", 4)]
    [InlineData("no-format", "target=arch\npackages=base\n", "ANEMOS2005", 0)]
    [InlineData("unknown-format", "target=arch\nformat=iso\npackages=base\n", "ANEMOS2006", 2)]
    [InlineData("dir-with-arguments", "target=arch\nformat=\"dir /srv\"\npackages=base\n", "ANEMOS2006", 2)]
    [InlineData("bad-size", "target=arch\nformat=\"raw 8X\"\npackages=base\n", "ANEMOS2007", 2)]
    [InlineData("zero-size", "target=arch\nformat=\"raw 0\"\npackages=base\n", "ANEMOS2007", 2)]
    [InlineData("bad-partition-table", "target=arch\nformat=\"raw 8G mbr\"\npackages=base\n", "ANEMOS2008", 2)]
    [InlineData("bad-file-system", "target=arch\nformat=\"raw 8G gpt zfs\"\npackages=base\n", "ANEMOS2009", 2)]
    [InlineData("bad-tar-compression", "target=arch\nformat=\"tar lz4\"\npackages=base\n", "ANEMOS2010", 2)]
    [InlineData("custom-without-cleanup", "target=arch\nformat=custom\npackages=base\nsetup() {\n  :\n}\n", "ANEMOS2011", 2)]
    [InlineData("unknown-hostconf-key", Good + "hostconf=\"colour=blue\"\n", "ANEMOS2012", 4)]
    [InlineData("bad-hostname", Good + "hostconf=\"hostname=bad_name!\"\n", "ANEMOS2013", 4)]
    [InlineData("bad-timezone", Good + "hostconf=\"timezone=Mars\"\n", "ANEMOS2013", 4)]
    [InlineData("dir-cannot-deploy", "target=arch\nformat=dir\npackages=base\n", "ANEMOS2017", 2)]
    [InlineData("tar-cannot-deploy", "target=arch\nformat=\"tar zstd\"\npackages=base\n", "ANEMOS2017", 2)]
    [InlineData("no-packages", "target=arch\nformat=raw\n", "ANEMOS2014", 0)]
    [InlineData("empty-packages", "target=arch\nformat=raw\npackages=\"  \"\n", "ANEMOS2014", 3)]
    public void IsRefusedWithItsCodeAndLine(string name, string imgbuild, string code, int line)
    {
        using var project = ImgbuildProject(imgbuild);
        var result = BadInput.AssertError(project, code);
        if (line > 0) Assert.True(System.Text.RegularExpressions.Regex.IsMatch(result.Output, $@"IMGBUILD\({line}[,)]: error {code}"), $"line {line} is not named:\n{result}");
        Assert.False(File.Exists(project.PathOf("bin/anemos/payload.tar.gz")), name);
    }

    [Theory]
    [InlineData("computed-packages", "target=arch\nformat=raw\npackages=\"$(cat packages.txt)\"\n", "ANEMOS2015")]
    [InlineData("computed-target", "target=${TARGET:-arch}\nformat=raw\npackages=base\n", "ANEMOS2015")]
    [InlineData("duplicate-setting", Good + "target=alpine\n", "ANEMOS2016")]
    public void IsWarnedAbout(string name, string imgbuild, string code)
    {
        using var project = ImgbuildProject(imgbuild);
        BadInput.AssertWarning(project, code);
        Assert.True(File.Exists(project.PathOf("bin/anemos/hosts/x/initramfs.img")), name);
    }

    [Fact]
    public void ATemplateVariableTheHostLacksIsRefusedAtItsLinePerHost()
    {
        using var project = TestProject.Create(TestProject.HostProject("""
            <AnemosHost Include="x" ZONE="example.org" />
            <AnemosHost Include="y" />
            """));
        project.WriteFakeBaseImage("image/kernel.bin", "image/base.cpio");
        project.Write("IMGBUILD", Good);
        // Line 1: the SDK's own names and a literal; line 3: the host variable only x defines.
        project.Write("files/etc/zone.makeimg.template", "# ${ANEMOS_HOST} $${NOT_A_VARIABLE} ${not closed\n\nzone: ${ZONE}\n");

        var y = BadInput.AssertError(project, "ANEMOS2111", "-p:Host=y");
        Assert.Matches(@"zone\.makeimg\.template\(3[,)]: error ANEMOS2111: The template names \$\{ZONE\}, which host 'y' does not define", y.Output);
        Assert.DoesNotContain("NOT_A_VARIABLE}, which", y.Output);
        Assert.DoesNotContain("ANEMOS_HOST}, which", y.Output);

        var x = project.Build("-p:Host=x");
        Assert.True(x.ExitCode == 0, x.ToString());
    }

    [Fact]
    public void KeyringIsAHostconfWord()
    {
        using var project = ImgbuildProject(Good + "hostconf=\"keyring timezone=UTC\"\n");
        var result = project.Build();
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.DoesNotContain("ANEMOS2012", result.Output);
    }

    [Fact]
    public void AValidImgbuildWithFunctionsAndTemplatesBuilds()
    {
        using var project = ImgbuildProject("""
            target=debian
            debian_suite=bookworm
            format="custom"
            hostconf="hostname=ns1.example.org timezone=Europe/Berlin locale=en_US.UTF-8 keymap=de-latin1"
            packages="
                openssh-server
                nsd
            "
            setup() { mkdir -p "$1"; }
            cleanup() { rm -rf "$1"; }
            provision() {
                cat >/etc/motd <<'EOF'
            it's managed
            EOF
            }
            """);
        project.Write("files/etc/nsd/nsd.conf.makeimg.template", "server:\n");
        project.Write("files/etc/fstab.makeimg.patch", "--- a\n+++ b\n");
        var result = project.Build();
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.DoesNotContain("warning ANEMOS", result.Output);
        string listing = ProcessRunner.Run("tar", "-tzf", project.PathOf("bin/anemos/payload.tar.gz")).Output;
        Assert.Contains("IMGBUILD", listing);
        Assert.Contains("files/etc/nsd/nsd.conf.makeimg.template", listing);
        Assert.Contains("files/etc/fstab.makeimg.patch", listing);
    }
}
