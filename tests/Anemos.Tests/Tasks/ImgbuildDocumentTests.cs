using Anemos.Tasks.Imgbuild;

namespace Anemos.Tests.Tasks;

public sealed class ImgbuildDocumentTests
{
    [Fact]
    public void ReadsAssignmentsWithQuotesAcrossLines()
    {
        var document = ImgbuildDocument.Parse("""
            # comment with 'an odd quote
            target=arch
            format="raw 8G gpt ext4"
            packages="base
              linux nginx"
            hostconf='hostname=a.example timezone=UTC'
            name=a\ b
            """);
        Assert.Equal("arch", document.Setting("target")!.Value);
        Assert.Equal(2, document.Setting("target")!.Line);
        Assert.Equal("raw 8G gpt ext4", document.Setting("format")!.Value);
        Assert.Equal("base\n  linux nginx", document.Setting("packages")!.Value);
        Assert.Equal(4, document.Setting("packages")!.Line);
        Assert.Equal("hostname=a.example timezone=UTC", document.Setting("hostconf")!.Value);
        Assert.Equal("a b", document.Setting("name")!.Value);
        Assert.All(document.Assignments, a => Assert.Null(a.Expansion));
    }

    [Fact]
    public void FlagsValuesComputedAtRunTime()
    {
        var document = ImgbuildDocument.Parse("packages=\"base $(cat extra)\"\ntarget=${TARGET:-arch}\nformat=`echo dir`\n");
        Assert.Equal("$(cat extra)", document.Setting("packages")!.Expansion);
        Assert.Equal("${TARGET:-arch}", document.Setting("target")!.Expansion);
        Assert.Equal("`echo dir`", document.Setting("format")!.Expansion);
    }

    [Fact]
    public void FindsFunctionsAndSkipsTheirBodies()
    {
        var document = ImgbuildDocument.Parse("""
            target=debian
            setup() {
                target=inside
                if [ -n "$x" ]; then echo "}"; fi
                cat <<EOF >/etc/motd
            it's a here-document with { and ' in it
            EOF
            }
            cleanup() (
                rm -rf /tmp/x
            )
            provision()
            {
                :
            }
            after=1
            """);
        Assert.Equal(["setup", "cleanup", "provision"], document.Functions.Keys);
        Assert.Equal("debian", document.Setting("target")!.Value);
        Assert.Equal(16, document.Setting("after")!.Line);
    }

    [Theory]
    [InlineData("target='arch\nformat=dir\n", 1, "single quote")]
    [InlineData("a=1\npackages=\"base\n", 2, "double quote")]
    [InlineData("x=$(echo\n", 1, "$(")]
    [InlineData("setup() {\n  echo hi\n", 1, "never closed")]
    [InlineData("cat <<END\nno end\n", 1, "here-document")]
    [InlineData("setup()\n", 1, "no body")]
    public void ReportsUnclosedConstructsWithTheLineTheyStartOn(string text, int line, string words)
    {
        var error = Assert.Throws<ShellSyntaxException>(() => ImgbuildDocument.Parse(text));
        Assert.Equal(line, error.Line);
        Assert.Contains(words, error.Message);
    }
}
