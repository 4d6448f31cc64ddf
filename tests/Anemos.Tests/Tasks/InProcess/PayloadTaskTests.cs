using Anemos.Tasks;

namespace Anemos.Tests.Tasks.InProcess;

/// <summary>ResolveAnemosPayload and CheckAnemosTemplates, in process.</summary>
public sealed class PayloadTaskTests : IDisposable
{
    readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    ResolveAnemosPayload Resolve(params string[] files) => new() { ProjectDirectory = _folder.Path, Files = _folder.Items(files) };

    [Fact]
    public void TheKindComesFromThePayloadFilesNotTheFolder()
    {
        _folder.Write("IMGBUILD", "target=arch\n");
        _folder.Write("deploy", "#!/bin/sh\n", executable: true);
        var task = Resolve("deploy", "files/x");
        var (success, engine) = RecordingBuildEngine.Run(task);
        Assert.True(success, string.Join('\n', engine.Errors.Select(e => e.Message)));
        Assert.Equal("deploy", task.Kind);
        Assert.Equal(Path.Combine(_folder.Path, "deploy"), task.EntryFile);
    }

    [Theory]
    [InlineData("both", "ANEMOS2102")]
    [InlineData("none", "ANEMOS2101")]
    [InlineData("not-executable", "ANEMOS2103")]
    [InlineData("not-a-program", "ANEMOS2104")]
    [InlineData("imgbuild-below-the-root", "ANEMOS2101")]
    public void RefusesWhatIsNoPayload(string shape, string code)
    {
        string[] files = shape switch
        {
            "both" => [_folder.Write("IMGBUILD", "target=arch\n"), _folder.Write("deploy", "#!/bin/sh\n", executable: true)],
            "none" => [_folder.Write("files/etc/motd", "hi\n")],
            "not-executable" => [_folder.Write("deploy", "#!/bin/sh\n")],
            "not-a-program" => [_folder.Write("deploy", "echo hi\n", executable: true)],
            _ => [_folder.Write("files/IMGBUILD", "target=arch\n")],
        };
        var (success, engine) = RecordingBuildEngine.Run(Resolve(files.Select(f => Path.GetRelativePath(_folder.Path, f)).ToArray()));
        Assert.False(success);
        Assert.Contains(engine.Errors, e => e.Code == code);
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
