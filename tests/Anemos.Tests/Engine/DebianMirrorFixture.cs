using System.Text.RegularExpressions;
using Anemos.Tests.Infrastructure;

namespace Anemos.Tests.Engine;

/// <summary>
/// A local, signed Debian repository on 127.0.0.1 for mmdebstrap (and debootstrap): the packages of
/// `--variant=minbase` (Priority: required, apt, usr-is-merged and their dependencies, as apt
/// resolves them on an empty system) plus <see cref="Extra"/>. The .debs are fetched once with
/// `apt-get download` and kept in a cache shared by every run; the repository (apt-ftparchive),
/// its throwaway signing key and the HTTP server are made anew for each test run.
/// </summary>
public class DebianMirrorFixture : IAsyncLifetime
{
    /// <summary>The extra package the IMGBUILDs ask for (tiny, depends on libc6 only).</summary>
    public const string Extra = "hello";

    LoopbackHttpFolder? _server;

    public string Root { get; } = TestProject.NewDirectory();
    public string Suite { get; private set; } = "bookworm";
    /// <summary>The mirror's URL, without a trailing slash.</summary>
    public string Mirror { get; private set; } = "";
    /// <summary>The packages the mirror holds, NAME=VERSION per line: what an image built from it is made of.</summary>
    public string PackageSet { get; private set; } = "";
    /// <summary>The binary keyring of the key that signed the repository.</summary>
    public string ArchiveKeyring => Path.Combine(Root, "archive.gpg");
    /// <summary>A binary keyring of another key, which signed nothing.</summary>
    public string OtherKeyring => Path.Combine(Root, "other.gpg");

    /// <summary>The packages beyond the minbase set (with their dependencies).</summary>
    protected virtual string[] ExtraPackages => [Extra];

    /// <summary>The priorities whose packages the bootstrap takes (an awk regular expression): minbase's required; mmdebstrap's default variant adds important.</summary>
    protected virtual string Priorities => "required";

    /// <summary>The cache folder's name under /var/cache/anemos-tests/ (one per package set).</summary>
    protected virtual string CacheName => "debian-mirror";

    string CacheDirectory =>
        System.Environment.GetEnvironmentVariable("ANEMOS_DEBIAN_MIRROR_CACHE") is { Length: > 0 } d
            ? (CacheName == "debian-mirror" ? d : Path.Combine(d, CacheName)) : "/var/cache/anemos-tests/" + CacheName;

    public async Task InitializeAsync()
    {
        Tier.RequireEndToEnd(Needs.Bootstrap);
        EngineTools.Require();
        Directory.CreateDirectory(Root);
        var release = File.ReadAllLines("/etc/os-release").FirstOrDefault(l => l.StartsWith("VERSION_CODENAME="));
        if (release is not null && File.Exists("/usr/share/debootstrap/scripts/" + release[17..].Trim('"'))) Suite = release[17..].Trim('"');
        // The cache is shared: one fixture at a time decides, downloads and copies from it. On the
        // thread pool: waiting for the lock or a download must not hold one of xunit's few test
        // threads, which the tests that need no mirror would otherwise wait for.
        await Task.Run(() =>
        {
            using (CacheLock.Acquire(CacheDirectory, TimeSpan.FromMinutes(30)))
                BuildRepository(CachedPackages(), Path.Combine(Root, "repo"));
        });
        _server = new LoopbackHttpFolder(Path.Combine(Root, "repo"));
        await _server.StartAsync();
        Mirror = _server.BaseAddress.ToString().TrimEnd('/');
    }

    protected static ProcessResult Sh(string script, params string[] arguments) =>
        ProcessRunner.Run("/bin/sh", ["-c", script, "sh", .. arguments], timeout: TimeSpan.FromMinutes(10));

    /// <summary>The .debs (NAME=VERSION per line in set.txt), downloaded when the set changed.</summary>
    string CachedPackages()
    {
        if (ProcessRunner.Run("apt-cache", "show", Extra).ExitCode != 0)
            Assert.True(ProcessRunner.Run("apt-get", ["update", "-q"], timeout: TimeSpan.FromMinutes(10)).ExitCode == 0, "apt-get update failed");
        Directory.CreateDirectory(CacheDirectory);
        string empty = Path.Combine(CacheDirectory, "empty-status");
        File.WriteAllText(empty, "");
        // apt resolves the set on an empty system; the bootstrap resolves the same from our Packages.
        var simulated = Sh("""
            priorities=$1 empty=$2; shift 2
            prioritized=$(apt-cache dumpavail | awk -v priorities="^Priority: ($priorities)$" '/^Package: /{p=$2} $0 ~ priorities {print p}' | sort -u)
            apt-get install -s -q -o Dir::State::Status="$empty" -o APT::Install-Recommends=false $prioritized apt usr-is-merged "$@"
            """, [Priorities, empty, .. ExtraPackages]);
        Assert.True(simulated.ExitCode == 0, "apt-get cannot resolve the minbase package set:\n" + simulated);
        var set = Regex.Matches(simulated.StandardOutput, @"^Inst (\S+) \((\S+) ", RegexOptions.Multiline)
            .Select(m => $"{m.Groups[1].Value}={m.Groups[2].Value}").Order(StringComparer.Ordinal).ToList();
        Assert.True(set.Count > 20, "the package set is too small:\n" + simulated);

        PackageSet = string.Join('\n', set) + "\n";
        return CachedDebs(CacheDirectory, set);
    }

    /// <summary>
    /// CACHE/debs with the .debs of <paramref name="set"/> (NAME=VERSION each), fetched with
    /// `apt-get download` when CACHE/set.txt names another set; the caller holds the cache's lock.
    /// </summary>
    public static string CachedDebs(string cacheDirectory, IReadOnlyList<string> set)
    {
        string debs = Path.Combine(cacheDirectory, "debs");
        string manifest = Path.Combine(cacheDirectory, "set.txt");
        string wanted = string.Join('\n', set) + "\n";
        if (File.Exists(manifest) && File.ReadAllText(manifest) == wanted && Directory.Exists(debs)
            && Directory.GetFiles(debs, "*.deb").Length == set.Count)
            return debs;
        if (Directory.Exists(debs)) Directory.Delete(debs, recursive: true);
        Directory.CreateDirectory(debs);
        var download = ProcessRunner.Run("apt-get", ["download", "-q", "-o", "APT::Sandbox::User=root", .. set], debs, timeout: TimeSpan.FromMinutes(20));
        Assert.True(download.ExitCode == 0, "apt-get download failed:\n" + download);
        File.WriteAllText(manifest, wanted);
        return debs;
    }

    void BuildRepository(string debs, string repo)
    {
        // Pool names without the epoch's %3a (as Debian's pool has them); Release signed by a key made here.
        var built = Sh("""
            set -e
            debs=$1 repo=$2 suite=$3 root=$4
            mkdir -p "$repo/pool/main" "$repo/dists/$suite/main/binary-amd64"
            for deb in "$debs"/*.deb; do
                name=$(basename "$deb" | sed 's/_[0-9]*%3a/_/')
                cp "$deb" "$repo/pool/main/$name"
            done
            cd "$repo"
            # Priority and Section as Debian's archive has them (its override, which apt's lists on
            # this machine carry), not the .debs' own control fields: apt is Priority required there,
            # important in its control file, and minbase is decided by priority.
            apt-cache dumpavail | awk '/^Package: /{p=$2} /^Priority: /{pr=$2} /^Section: /{se=$2} /^$/{if (p != "" && pr != "") print p, pr, se; p = pr = se = ""}' \
                | sort -u -k1,1 >"$root/override"
            apt-ftparchive packages pool "$root/override" 2>/dev/null >"dists/$suite/main/binary-amd64/Packages"
            gzip -9nk "dists/$suite/main/binary-amd64/Packages"
            apt-ftparchive -o APT::FTPArchive::Release::Origin=Anemos-test -o APT::FTPArchive::Release::Suite="$suite" \
                -o APT::FTPArchive::Release::Codename="$suite" -o APT::FTPArchive::Release::Architectures=amd64 \
                -o APT::FTPArchive::Release::Components=main release "dists/$suite" >"$root/Release"
            mv "$root/Release" "dists/$suite/Release"
            for key in archive other; do
                home=$root/gnupg-$key
                mkdir -m 700 "$home"
                gpg --batch --quiet --homedir "$home" --passphrase '' --quick-gen-key "Anemos test $key <$key@anemos.invalid>" ed25519 sign never
                gpg --batch --homedir "$home" --export >"$root/$key.gpg"
            done
            gpg --batch --homedir "$root/gnupg-archive" --yes --clearsign -o "dists/$suite/InRelease" "dists/$suite/Release"
            gpg --batch --homedir "$root/gnupg-archive" --yes --detach-sign -o "dists/$suite/Release.gpg" "dists/$suite/Release"
            gpgconf --homedir "$root/gnupg-archive" --kill all
            gpgconf --homedir "$root/gnupg-other" --kill all
            """, debs, repo, Suite, Root);
        Assert.True(built.ExitCode == 0, "building the local Debian repository failed:\n" + built);
    }

    /// <summary>An IMGBUILD project folder for this mirror: keys/ holds the archive key.</summary>
    public string NewProject(string name, string imgbuild, string? keyring = null)
    {
        string folder = Path.Combine(Root, name);
        Directory.CreateDirectory(Path.Combine(folder, "keys"));
        File.Copy(keyring ?? ArchiveKeyring, Path.Combine(folder, "keys", "archive.gpg"));
        File.WriteAllText(Path.Combine(folder, "IMGBUILD"), imgbuild);
        return folder;
    }

    public Dictionary<string, string?> Environment(string? mirror = null) => new()
    {
        ["MIRROR"] = mirror ?? Mirror,
        ["no_proxy"] = "127.0.0.1", ["http_proxy"] = null, ["HTTP_PROXY"] = null,
    };

    public async Task DisposeAsync()
    {
        if (_server is not null) await _server.DisposeAsync();
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
