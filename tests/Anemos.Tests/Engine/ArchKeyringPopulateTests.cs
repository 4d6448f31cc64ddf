using System.Diagnostics;
using Anemos.Tests.Infrastructure;

namespace Anemos.Tests.Engine;

/// <summary>
/// The engine loads an archlinux keyring with its own populate (one gpg call per step), not
/// `pacman-key --populate archlinux` (one or two per key). Proven on the real thing: Debian's
/// archlinux-keyring (Arch's keys, master keys and revocations), loaded both ways into keyrings
/// made alike, must leave every key with the same validity and owner trust.
/// </summary>
[EndToEnd(Needs.Bootstrap)]
public sealed class ArchKeyringPopulateTests(Xunit.Abstractions.ITestOutputHelper output) : IDisposable
{
    readonly string _folder = TestProject.NewDirectory();

    // $1: the engine, $2: the keyring folder to make; the rest: how to load the keyring.
    const string Keyring = """
        engine=$1 gpgdir=$2
        shift 2
        _ANEMOS_TEST_ENGINE_FUNCTIONS=1
        . "$engine"
        _mi_work=$(mktemp -d) _mi_gpgdir=$gpgdir
        printf '[options]\n' >"$_mi_work/pacman.conf"
        mkdir -p "$_mi_gpgdir" && chmod 700 "$_mi_gpgdir" && : >"$_mi_gpgdir/pubring.gpg"
        gpg --homedir "$_mi_gpgdir" --batch --pinentry-mode loopback --passphrase '' --quick-gen-key 'Pacman Keyring Master Key <pacman@localhost>' ed25519 sign never 2>/dev/null
        pacman-key --config "$_mi_work/pacman.conf" --gpgdir "$_mi_gpgdir" --init >/dev/null 2>&1 || exit 1
        : >"$_mi_work/keyring-trusted"; : >"$_mi_work/keyring-revoked"
        # The engine's way: its populate, then the one trust check when the keyring is complete.
        engine_populate() { _mi_arch_populate "$1" && _mi_arch_trust; }
        start=$(date +%s%N)
        "$@" || exit 1
        echo "loaded in $((($(date +%s%N) - start) / 1000000)) ms"
        gpgconf --homedir "$_mi_gpgdir" --kill all
        rm -rf "$_mi_work"
        """;

    ProcessResult MakeKeyring(string gpgdir, params string[] load) =>
        ProcessRunner.Run("sh", ["-c", Keyring, "keyring", Makeimg.EnginePath, gpgdir, .. load], _folder,
            new Dictionary<string, string?> { ["LC_ALL"] = "C" }, TimeSpan.FromMinutes(5));

    /// <summary>Every key's validity and every owner trust but the local key's (each keyring has its own).</summary>
    static string[] Trust(string gpgdir)
    {
        var keys = ProcessRunner.Run("gpg", "--homedir", gpgdir, "--batch", "--no-permission-warning", "--with-colons", "--list-keys");
        var trust = ProcessRunner.Run("gpg", "--homedir", gpgdir, "--batch", "--no-permission-warning", "--export-ownertrust");
        Assert.True(keys.ExitCode == 0 && trust.ExitCode == 0, $"{keys}\n{trust}");
        var validity = new List<string>();
        string? pending = null;
        foreach (string line in keys.StandardOutput.Split('\n'))
        {
            string[] fields = line.Split(':');
            if (fields[0] == "pub") pending = fields[1];
            else if (fields[0] == "fpr" && pending is not null) { validity.Add($"{fields[9]} validity {pending}"); pending = null; }
        }
        return [.. validity.Where(v => !v.EndsWith(" validity u")).Order(),
            .. trust.StandardOutput.Split('\n').Where(l => l.Length > 0 && !l.StartsWith('#') && !l.EndsWith(":6:")).Order()];
    }

    [Fact]
    public void TheEnginesPopulateLeavesDebiansArchlinuxKeyringAsPacmanKeyDoes()
    {
        EngineTools.Require();
        // Debian's archlinux-keyring, fetched by apt (the installer base carries the same package).
        string debs = Path.Combine(_folder, "debs");
        Directory.CreateDirectory(debs);
        var download = ProcessRunner.Run("apt-get", ["download", "-q", "-o", "APT::Sandbox::User=root", "archlinux-keyring"], debs, timeout: TimeSpan.FromMinutes(5));
        Assert.True(download.ExitCode == 0, "apt-get download archlinux-keyring failed:\n" + download);
        string tree = Path.Combine(_folder, "tree");
        var extracted = ProcessRunner.Run("dpkg-deb", "-x", Directory.GetFiles(debs, "*.deb").Single(), tree);
        Assert.True(extracted.ExitCode == 0, extracted.ToString());
        string keyrings = Path.Combine(tree, "usr/share/keyrings");

        string ours = Path.Combine(_folder, "ours"), theirs = Path.Combine(_folder, "theirs");
        var engine = MakeKeyring(ours, "engine_populate", keyrings);
        // pacman-key reads /usr/share/keyrings only: the package's folder is mounted there for it alone.
        var pacmanKey = MakeKeyring(theirs, "unshare", "--mount", "sh", "-c",
            "mount --bind \"$1\" /usr/share/keyrings && pacman-key --gpgdir \"$2\" --populate archlinux >/dev/null 2>&1", "populate", keyrings, theirs);
        Assert.True(engine.ExitCode == 0, engine.ToString());
        Assert.True(pacmanKey.ExitCode == 0, pacmanKey.ToString());
        output.WriteLine($"the engine's populate: {engine.StandardOutput.Trim()}; pacman-key --populate archlinux: {pacmanKey.StandardOutput.Trim()}");

        string[] expected = Trust(theirs), actual = Trust(ours);
        // Debian 12's keyring: over a hundred keys, six trusted master keys, about forty revoked.
        Assert.True(expected.Count(l => l.EndsWith(":4:")) >= 5 && expected.Count(l => l.EndsWith(":128:")) >= 30, string.Join('\n', expected));
        Assert.Equal(expected, actual);
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
