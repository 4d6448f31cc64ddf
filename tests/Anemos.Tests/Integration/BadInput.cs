using Anemos.Tests.Infrastructure;

namespace Anemos.Tests.Integration;

/// <summary>What every broken project must get: its own coded error, no task crash, no stack trace, nothing half-built.</summary>
public static class BadInput
{
    public static ProcessResult AssertError(TestProject project, string code, params string[] arguments)
    {
        var result = project.Build(arguments);
        Assert.True(result.ExitCode != 0, $"expected {code}, but the build succeeded:\n{result}");
        Assert.True(result.Output.Contains($"error {code}:"), $"expected error {code}:\n{result}");
        AssertNoCrash(result);
        string bin = project.PathOf("bin");
        if (Directory.Exists(bin))
        {
            Assert.Empty(Directory.GetFiles(bin, "initramfs.img", SearchOption.AllDirectories));
            Assert.Empty(Directory.GetFiles(bin, "*.tmp", SearchOption.AllDirectories));
        }
        return result;
    }

    public static ProcessResult AssertWarning(TestProject project, string code, params string[] arguments)
    {
        var result = project.Build(arguments);
        Assert.True(result.ExitCode == 0, $"expected only warning {code}:\n{result}");
        Assert.True(result.Output.Contains($"warning {code}:"), $"expected warning {code}:\n{result}");
        AssertNoCrash(result);
        return result;
    }

    static void AssertNoCrash(ProcessResult result)
    {
        Assert.False(result.Output.Contains("MSB4018"), "a task crashed:\n" + result);
        Assert.False(result.Output.Contains("ANEMOS0001"), "a task failed unexpectedly:\n" + result);
        Assert.False(System.Text.RegularExpressions.Regex.IsMatch(result.Output, @"\n\s+at [A-Z][\w.]+\("), "a stack trace was printed:\n" + result);
    }
}
