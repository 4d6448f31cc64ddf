using Anemos.Tests.Infrastructure;
using Anemos.Tasks;

namespace Anemos.Tests.Tasks.InProcess;

/// <summary>ResolveAnemosPayload and CheckAnemosTemplates, in process.</summary>
public sealed class PayloadTaskTests : IDisposable
{
    readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    PackAnemosPayload Pack(string kind, params string[] files) =>
        new() { ProjectDirectory = _folder.Path, Files = _folder.Items(files), PayloadKind = kind, OutputFile = Path.Combine(_folder.Path, "out", "payload.tar.gz") };

    [Theory]
    [InlineData("not-executable", "ANEMOS2103")]
    [InlineData("not-a-program", "ANEMOS2104")]
    [InlineData("a-link", "ANEMOS2112")]
    public void ThePackerChecksTheEntryItWasGiven(string shape, string code)
    {
        switch (shape)
        {
            case "not-executable": _folder.Write("deploy", "#!/bin/sh\n"); break;
            case "not-a-program": _folder.Write("deploy", "echo hi\n", executable: true); break;
            default:
                _folder.Write("real-deploy", "#!/bin/sh\n", executable: true);
                File.CreateSymbolicLink(Path.Combine(_folder.Path, "deploy"), "real-deploy");
                break;
        }
        var (success, engine) = RecordingBuildEngine.Run(Pack("deploy", "deploy"));
        Assert.False(success);
        Assert.Contains(engine.Errors, e => e.Code == code);
        Assert.False(File.Exists(Path.Combine(_folder.Path, "out", "payload.tar.gz")));
    }

    [Theory]
    [InlineData("link-patch", "files/etc/motd.makeimg.patch")]
    [InlineData("link-template", "files/etc/motd.makeimg.template")]
    [InlineData("only-suffix", "files/etc/.makeimg.patch")]
    [InlineData("only-suffix", "files/.makeimg.template")]
    public void NamesMakeimgWouldSkipAreRefusedAtTheFile(string shape, string name)
    {
        _folder.Write("IMGBUILD", "target=arch\nformat=dir\npackages=base\n");
        _folder.Write("files/etc/motd.real", "--- a\n+++ b\n");
        if (shape.StartsWith("link", StringComparison.Ordinal))
            File.CreateSymbolicLink(Path.Combine(_folder.Path, name), "motd.real");
        else
            _folder.Write(name, "x\n");
        var (success, engine) = RecordingBuildEngine.Run(Pack("imgbuild", "IMGBUILD", "files/etc/motd.real", name));
        Assert.False(success);
        var error = Assert.Single(engine.Errors);
        Assert.Equal("ANEMOS2115", error.Code);
        Assert.Equal(Path.Combine(_folder.Path, name), error.File);
        Assert.False(File.Exists(Path.Combine(_folder.Path, "out", "payload.tar.gz")));

        // A deploy program reads files/ its own way: the same name is no concern of makeimg's.
        _folder.Write("deploy", "#!/bin/sh\n", executable: true);
        var (deploySuccess, deployEngine) = RecordingBuildEngine.Run(Pack("deploy", "deploy", "files/etc/motd.real", name));
        Assert.True(deploySuccess, string.Join('\n', deployEngine.Errors.Select(e => e.Message)));
    }

    [Fact]
    public void PatternCharactersInNamesAreCarried()
    {
        _folder.Write("IMGBUILD", "target=arch\nformat=dir\npackages=base\n");
        _folder.Write("files/etc/*", "star\n");
        _folder.Write("files/etc/?.makeimg.template", "q\n");
        var (success, engine) = RecordingBuildEngine.Run(Pack("imgbuild", "IMGBUILD", "files/etc/*", "files/etc/?.makeimg.template"));
        Assert.True(success, string.Join('\n', engine.Errors.Select(e => e.Message)));
        string listing = ProcessRunner.Run("tar", "-tzf", Path.Combine(_folder.Path, "out", "payload.tar.gz")).Output;
        Assert.Contains("files/etc/*\n", listing);
        Assert.Contains("files/etc/?.makeimg.template\n", listing);
    }

    [Fact]
    public void TemplatesMayNameOnlyTheHostsVariables()
    {
        string variables = _folder.Write("host.vars", "ANEMOS_ON_FAILURE='shell'\nZONE='example.org'\nNOTE='two\nlines'\n");
        _folder.Write("files/a.makeimg.template", "${ZONE} ${ANEMOS_HOST} $${LITERAL} ${ZONE:-x} $PLAIN\n${MISSING}\n");
        _folder.Write("files/b.conf", "${NOT_A_TEMPLATE}\n");
        var task = new CheckAnemosTemplates { HostName = "y", HostVariablesFile = variables, PayloadFiles = _folder.Items("files/a.makeimg.template", "files/b.conf") };
        var (success, engine) = RecordingBuildEngine.Run(task);
        Assert.False(success);
        var error = Assert.Single(engine.Errors);
        Assert.Equal(("ANEMOS2111", 2), (error.Code, error.LineNumber));
        Assert.EndsWith("a.makeimg.template", error.File);
        Assert.Contains("${MISSING}, which host 'y' does not define", error.Message);
    }

    [Theory]
    [InlineData("${A}", "A")]
    [InlineData("x${A}y${B_2}z", "A,B_2")]
    [InlineData("$${A} ${B}", "B")]
    [InlineData("${A:-b} ${1} ${} ${unclosed", "")]
    [InlineData("$$A ${A}", "A")]
    public void TheTemplateReaderFindsExactlyTheVariables(string text, string names)
    {
        var found = MakeimgTemplate.References(new StringReader(text)).Select(r => r.Name);
        Assert.Equal(names.Split(',', StringSplitOptions.RemoveEmptyEntries), found);
    }
}
