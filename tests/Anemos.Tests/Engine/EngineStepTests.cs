using Anemos.Tests.Infrastructure;

namespace Anemos.Tests.Engine;

/// <summary>
/// One engine step alone (issue 29 point 7): the engine sourced for its functions only
/// (_ANEMOS_TEST_ENGINE_FUNCTIONS), the state the earlier steps would leave set by hand, so the
/// input-file steps are proven on a plain folder, in a second, without bootstrapping a distribution.
/// </summary>
public sealed class EngineStepTests : IDisposable
{
    readonly string _folder = TestProject.NewDirectory();

    // $1: the engine, $2: the root, $3: the input folder; the steps named after them run in order.
    const string StepRunner = """
        engine=$1 root=$2 input=$3
        shift 3
        _ANEMOS_TEST_ENGINE_FUNCTIONS=1
        . "$engine"
        _mi_work=$(mktemp -d) _mi_root=$root _mi_input_dirs="$input$_mi_nl"
        for step in "$@"; do "_mi_step_$step"; done
        rm -rf "$_mi_work"
        """;

    ProcessResult RunSteps(IDictionary<string, string?>? environment, params string[] steps)
    {
        EngineTools.Require();
        Directory.CreateDirectory(Path.Combine(_folder, "tmp"));
        var variables = new Dictionary<string, string?>(environment ?? new Dictionary<string, string?>()) { ["TMPDIR"] = Path.Combine(_folder, "tmp"), ["LC_ALL"] = "C" };
        return ProcessRunner.Run("sh", ["-c", StepRunner, "steps", Makeimg.EnginePath, Path.Combine(_folder, "root"), Path.Combine(_folder, "files"), .. steps],
            _folder, variables, TimeSpan.FromMinutes(1));
    }

    void Write(string relative, string text)
    {
        string path = Path.Combine(_folder, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
    }

    [Fact]
    public void TheFilesPatchesAndTemplatesStepsRunAloneOnAPreparedRoot()
    {
        Write("root/etc/motd", "the old system\n");
        Write("root/etc/hosts", "127.0.0.1 localhost\n");
        Write("files/etc/motd", "the new system\n");
        Write("files/etc/hosts.makeimg.patch", "--- a/etc/hosts\n+++ b/etc/hosts\n@@ -1 +1,2 @@\n 127.0.0.1 localhost\n+192.0.2.53 ns1\n");
        Write("files/etc/greeting.makeimg.template", "hello ${GREETING}, $${NOT_A_VARIABLE}\n");

        var result = RunSteps(new Dictionary<string, string?> { ["GREETING"] = "world" }, "files", "patches", "templates");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("the new system\n", File.ReadAllText(Path.Combine(_folder, "root/etc/motd")));
        Assert.Equal("127.0.0.1 localhost\n192.0.2.53 ns1\n", File.ReadAllText(Path.Combine(_folder, "root/etc/hosts")));
        Assert.Equal("hello world, ${NOT_A_VARIABLE}\n", File.ReadAllText(Path.Combine(_folder, "root/etc/greeting")));
        Assert.Contains("makeimg[files]: copied 1 files", result.StandardOutput);
        Assert.Contains("makeimg[patches]: applied 1 patches", result.StandardOutput);
        Assert.Contains("makeimg[templates]: expanded 1 templates", result.StandardOutput);
        Assert.DoesNotContain("makeimg[read]", result.StandardOutput);
    }

    [Fact]
    public void AStepAloneFailsWithItsOwnStepAndCode()
    {
        Write("root/etc/hosts", "127.0.0.1 localhost\n");
        Write("files/etc/missing.makeimg.patch", "--- a/etc/missing\n+++ b/etc/missing\n@@ -1 +1 @@\n-a\n+b\n");

        var result = RunSteps(null, "patches");

        Assert.Contains("/etc/missing, which is not in the image", Makeimg.AssertFailed(result, "patches", "ANEMOS2231"));
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
