using Anemos.Tasks.Imgbuild;
using Anemos.Tests.Infrastructure;

namespace Anemos.Tests.Tasks;

/// <summary>
/// The build (ImgbuildRules.Size) and the engine (makeimg's _mi_size_bytes) take the same raw sizes.
/// A test rather than a table both are generated from: the engine is a POSIX sh script that runs as
/// it is in the deploy initramfs, with no build step to generate it in, and it has no source guard,
/// so the test cuts the one function out of the script and runs it under sh on every suffix shape.
/// </summary>
public sealed class ImgbuildSizeRuleTests
{
    static readonly string Engine = File.ReadAllText(Repository.PathOf("Anemos.Sdk", "engine", "makeimg"));

    /// <summary>The text of a shell function, from its "NAME() {" line to the "}" that starts a line.</summary>
    static string Function(string name)
    {
        int start = Engine.IndexOf($"\n{name}() {{", StringComparison.Ordinal);
        Assert.True(start >= 0, $"makeimg has no function {name}");
        int end = Engine.IndexOf("\n}", start + 1, StringComparison.Ordinal);
        return Engine[start..(end + 2)];
    }

    /// <summary>Every letter as a unit, bare, with B and with iB, and a few shapes that are no size at all.</summary>
    static readonly string[] Sizes =
    [
        "8", "08", "8X", "8k", "8 G", "G", "", "8GiBB", "8BG",
        .. Enumerable.Range('A', 26).SelectMany(c => new[] { $"1{(char)c}", $"1{(char)c}B", $"1{(char)c}iB" }),
    ];

    [Fact]
    public void TheBuildAndTheEngineAcceptTheSameSizes()
    {
        string script = Function("_mi_size_bytes") + """

            while IFS= read -r size; do
                if _mi_size_bytes "$size" >/dev/null; then echo "yes $size"; else echo "no $size"; fi
            done
            """;
        var sh = ProcessRunner.Run("sh", ["-c", script], standardInput: System.Text.Encoding.UTF8.GetBytes(string.Join("\n", Sizes) + "\n"));
        Assert.True(sh.ExitCode == 0, sh.ToString());
        var engine = sh.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => (Size: line[(line.IndexOf(' ') + 1)..], Accepted: line.StartsWith("yes ", StringComparison.Ordinal)));
        var build = Sizes.Select(size => (Size: size, Accepted: ImgbuildRules.Size().IsMatch(size)));
        Assert.Equal(build, engine);
    }
}
