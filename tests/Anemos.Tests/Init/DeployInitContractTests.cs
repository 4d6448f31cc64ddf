using System.Text.RegularExpressions;
using Anemos.Core.Initramfs;
using Anemos.Tests.Infrastructure;

namespace Anemos.Tests.Init;

/// <summary>
/// The deploy init (Anemos.Sdk/init/anemos-init) uses exactly the names of DeployInitContract, the
/// one place the build, a rehearsal and the helper take them from: a name renamed on one side fails here.
/// </summary>
public sealed partial class DeployInitContractTests
{
    static readonly string Init = File.ReadAllText(GuestBusybox.Init);

    /// <summary>The text of a shell function, from its "NAME() {" line to the "}" that starts a line.</summary>
    static string Function(string name)
    {
        int start = Init.IndexOf($"\n{name}() {{", StringComparison.Ordinal);
        Assert.True(start >= 0, $"anemos-init has no function {name}");
        int end = Init.IndexOf("\n}", start + 1, StringComparison.Ordinal);
        return Init[start..end];
    }

    /// <summary>The labels of the case statement that reads <paramref name="variable"/> inside a text.</summary>
    static SortedSet<string> CaseLabels(string text, string variable)
    {
        int start = text.IndexOf($"case \"${variable}\" in", StringComparison.Ordinal);
        Assert.True(start >= 0, $"no case on ${variable}");
        int end = text.IndexOf("esac", start, StringComparison.Ordinal);
        return new(CaseLabel().Matches(text[start..end]).Select(m => m.Groups[1].Value), StringComparer.Ordinal);
    }

    [Fact]
    public void TheInitReadsExactlyTheContractsFiles()
    {
        // /anemos/… but not /run/anemos/… or /etc/anemos/…
        var read = new SortedSet<string>(AnemosPath().Matches(Init).Select(m => m.Value.TrimStart('/')), StringComparer.Ordinal);
        // The payload is the one file the init finds through host.env (ANEMOS_PAYLOAD), not by name.
        var named = new SortedSet<string>(DeployInitContract.Paths.Where(p => p != DeployInitContract.Payload), StringComparer.Ordinal);
        Assert.Equal(named, read);
        Assert.Contains($"\"${DeployInitContract.HostEnv.Payload}\"", Init);
    }

    [Fact]
    public void EveryHostEnvNameIsReadByTheInitAndEveryOtherNameIsItsOwn()
    {
        var used = new SortedSet<string>(AnemosVariable().Matches(Init).Select(m => m.Value), StringComparer.Ordinal);
        // host.env's names, but the payload's size, which is for the payload alone.
        foreach (string name in DeployInitContract.HostEnv.Names.Where(n => n != DeployInitContract.HostEnv.PayloadSize))
            Assert.Contains(name, used);
        // Every name the init sets for the payload, it sets.
        foreach (string name in DeployInitContract.InitEnvironmentNames)
            Assert.Matches($@"(?m)^\s*(export .*\b{name}\b|{name}=)", Init);
        // Any other ANEMOS_ name is the init's own: it gives it a value (or a default) itself.
        foreach (string name in used.Except(DeployInitContract.HostEnv.Names).Except(DeployInitContract.InitEnvironmentNames))
            Assert.True(Regex.IsMatch(Init, $@"(^|[\s;]){name}=|\${{{name}:-"), $"anemos-init reads {name}, which neither host.env nor the init itself sets");
    }

    [Fact]
    public void TheInitReadsExactlyTheContractsKernelCommandLineKeys()
    {
        var keys = new SortedSet<string>(CommandLineKey().Matches(Init).Select(m => m.Groups[1].Value), StringComparer.Ordinal);
        Assert.Equal(new SortedSet<string>(DeployInitContract.CommandLine.Keys, StringComparer.Ordinal), keys);
    }

    [Fact]
    public void TheInitUnderstandsExactlyTheNetworkConfWords()
    {
        var words = CaseLabels(Function("network_static"), "kind");
        Assert.Equal(new SortedSet<string>(DeployInitContract.NetworkConfGrammar.Words, StringComparer.Ordinal), words);
    }

    [Fact]
    public void TheInitReadsTheBootDiskFormatAndExactlyItsIdentityKeys()
    {
        string choose = Function("match_disk_identity");
        Assert.Contains($"\"{DeployInitContract.BootDiskGrammar.Header}\"", choose);
        Assert.Equal(new SortedSet<string>(DeployInitContract.BootDiskGrammar.IdentityKeys, StringComparer.Ordinal), CaseLabels(choose, "key"));
    }

    [GeneratedRegex(@"(?<![\w/])/anemos/[\w.-]+")]
    private static partial Regex AnemosPath();

    [GeneratedRegex(@"\bANEMOS_[A-Z0-9_]+\b")]
    private static partial Regex AnemosVariable();

    [GeneratedRegex(@"cmdline_value (anemos\.[a-z_]+)")]
    private static partial Regex CommandLineKey();

    [GeneratedRegex(@"(?m)^\s*([a-z]+)\)")]
    private static partial Regex CaseLabel();
}
