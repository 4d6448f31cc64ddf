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
