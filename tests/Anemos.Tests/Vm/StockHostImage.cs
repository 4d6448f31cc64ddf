using System.Diagnostics;
using System.Text;
using Anemos.Core.Cpio;
using Anemos.Core.Initramfs;
using Anemos.Tasks.Deploy;

namespace Anemos.Tests.Vm;

/// <summary>
/// The initramfs of a "stock host": the sample base image plus a segment with OpenSSH's sshd, a
/// host key, an authorized key and the shared libraries sshd and the helper need (no helper: a
/// deploy brings it). Its init brings up QEMU's user network statically and starts sshd. When the
/// disk starts with a record a deploy payload wrote, it plays the new system: it reports the
/// payload sha256 in /etc/anemos/payload.sha256 and is healthy (/run/healthy) when told so.
/// A musl host (<see cref="HostLibc.Musl"/>) is the same with a root that holds no glibc where a
/// program would look for it: /bin/sh runs on musl (a musl-linked front for busybox, whose loader
/// /lib/ld-musl-x86_64.so.1 comes from Debian's musl), and sshd, which Debian links against glibc
/// only, runs from /opt/glibc through that folder's own loader, as a program a host keeps apart.
/// Shared by the VM tests and bench/run.sh (through bench/Anemos.Bench).
/// </summary>
public static class StockHostImage
{
    public const string ReadyLine = "STOCK-HOST ready";

    /// <param name="nextHostKey">The host key the "new system" presents when the disk record says newkey=yes (default: the same key).</param>
    /// <param name="trustedCertificate">
    /// A CA certificate (PEM) the host trusts instead of any other, as a distribution's bundle does: with it the
    /// image carries curl and its libraries (libssl among them, so the helper can fetch https too).
    /// </param>
    /// <param name="libc">The C library the host's /bin/sh and its programs run on.</param>
    public static void Write(string image, string baseImage, string helper, string hostKey, string authorizedKey, string? nextHostKey = null, string? trustedCertificate = null,
        HostLibc libc = HostLibc.Glibc)
    {
        string segment = image + ".segment";
        if (libc == HostLibc.Musl) WriteMuslSegment(segment, hostKey, nextHostKey ?? hostKey, authorizedKey);
        else WriteSegment(segment, helper, hostKey, nextHostKey ?? hostKey, authorizedKey, trustedCertificate);
        InitramfsLayout.AssembleFile(baseImage, [segment], image);
        File.Delete(segment);
    }

    /// <summary>The shared libraries (and the loader) ldd lists for a program, to copy into a guest.</summary>
    public static IReadOnlyList<string> SharedLibraries(string program) =>
        Tool("", "ldd", program).Split('\n').SelectMany(l => l.Split([' ', '\t'])).Where(w => w.StartsWith('/')).Distinct().ToList();

    /// <summary>A tool of this machine's, its output; one that fails throws with its error output (and <paramref name="hint"/>).</summary>
    static string Tool(string hint, string file, params string[] arguments)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string argument in arguments) start.ArgumentList.Add(argument);
        using var tool = Process.Start(start)!;
        string output = tool.StandardOutput.ReadToEnd();
        string errors = tool.StandardError.ReadToEnd();
        tool.WaitForExit();
        if (tool.ExitCode != 0) throw new InvalidOperationException($"{file} {string.Join(' ', arguments)} failed{hint}: {errors}");
        return output;
    }

    static void WriteSegment(string path, string helper, string hostKey, string nextHostKey, string authorizedKey, string? trustedCertificate)
    {
        var libraries = new SortedSet<string>(StringComparer.Ordinal);
        string[] programs = trustedCertificate is null ? ["/usr/sbin/sshd", helper] : ["/usr/sbin/sshd", helper, Curl];
        foreach (string program in programs)
            foreach (string library in SharedLibraries(program))
                libraries.Add(library);
        var files = SshdFiles(hostKey, nextHostKey, authorizedKey, Init.Replace("@SSHD@", "/usr/sbin/sshd"));
        foreach (string library in libraries) files.Add((library.TrimStart('/'), null, library, 0x1ED));
        if (trustedCertificate is not null)
        {
            files.Add((Curl.TrimStart('/'), null, Curl, 0x1ED));
            // Debian's bundle, which curl reads, and OpenSSL's default file, which .NET (the helper) reads.
            files.Add(("etc/ssl/certs/ca-certificates.crt", null, trustedCertificate, 0x1A4));
            files.Add(("usr/lib/ssl/cert.pem", null, trustedCertificate, 0x1A4));
        }
        WriteCpio(path, files);
    }

    /// <summary>The folder a musl host keeps sshd's glibc in: nowhere a program looks for a C library.</summary>
    const string GlibcApart = "opt/glibc";
    const string MuslLoader = "/lib/ld-musl-x86_64.so.1";

    static void WriteMuslSegment(string path, string hostKey, string nextHostKey, string authorizedKey)
    {
        string glibcLoader = "/" + GlibcApart + "/ld-linux-x86-64.so.2";
        // sshd through its own loader, without re-executing itself (it would, by its path alone, through the loader glibc names).
        var files = SshdFiles(hostKey, nextHostKey, authorizedKey, Init.Replace("@SSHD@", $"{glibcLoader} --library-path /{GlibcApart} /usr/sbin/sshd -r"));
        foreach (string library in SharedLibraries("/usr/sbin/sshd"))
            files.Add((GlibcApart + "/" + Path.GetFileName(library), null, library, 0x1ED));
        files.Add((MuslLoader.TrimStart('/'), null, MuslLoader, 0x1ED));
        files.Add(("bin/sh", null, MuslShellFront(Path.GetDirectoryName(path)!), 0x1ED));
        WriteCpio(path, files);
    }

    /// <summary>
    /// /bin/sh of a musl host: a musl-linked program (musl-gcc, which build.sh installs) that runs busybox's
    /// sh, so the shell names musl's loader as Alpine's busybox does.
    /// </summary>
    static string MuslShellFront(string directory)
    {
        string source = Path.Combine(directory, "sh-front.c"), program = Path.Combine(directory, "sh-front");
        File.WriteAllText(source, """
            #include <unistd.h>
            int main(int argc, char **argv) { (void)argc; argv[0] = "sh"; execv("/bin/busybox", argv); return 127; }

            """);
        Tool(" (build.sh installs musl-tools)", "musl-gcc", "-O2", "-o", program, source);
        return program;
    }

    static List<(string Name, byte[]? Content, string? Source, uint Mode)> SshdFiles(string hostKey, string nextHostKey, string authorizedKey, string init) =>
    [
        ("usr/sbin/sshd", null, "/usr/sbin/sshd", 0x1ED),
        ("etc/passwd", Encoding.ASCII.GetBytes("root:x:0:0:root:/root:/bin/sh\nsshd:x:100:65534::/run/sshd:/bin/false\n"), null, 0x1A4),
        ("etc/group", Encoding.ASCII.GetBytes("root:x:0:\nnogroup:x:65534:\n"), null, 0x1A4),
        ("etc/shadow", Encoding.ASCII.GetBytes("root:*:19000:0:99999:7:::\nsshd:*:19000:0:99999:7:::\n"), null, 0x180),
        ("etc/ssh/host_key", null, hostKey, 0x180),
        // Where a distribution keeps it, and where the helper takes the host keys from for the deploy environment's ssh.
        ("etc/ssh/ssh_host_ed25519_key", null, hostKey, 0x180),
        ("etc/ssh/host_key_next", null, nextHostKey, 0x180),
        ("etc/ssh/authorized_keys", null, authorizedKey, 0x1A4),
        ("etc/ssh/sshd_config", Encoding.ASCII.GetBytes("""
            Port 22
            AuthorizedKeysFile /etc/ssh/authorized_keys
            PermitRootLogin prohibit-password
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            UsePAM no
            StrictModes no
            MaxSessions 50
            PidFile /run/sshd.pid
            LogLevel VERBOSE

            """), null, 0x1A4),
        ("init", Encoding.ASCII.GetBytes(init), null, 0x1ED),
    ];

    static void WriteCpio(string path, List<(string Name, byte[]? Content, string? Source, uint Mode)> files)
    {
        var directories = new SortedSet<string>(StringComparer.Ordinal) { "root", "run", "run/sshd", "var", "var/empty", "etc/anemos" };
        foreach (var (name, _, _, _) in files)
            for (string? parent = Path.GetDirectoryName(name); !string.IsNullOrEmpty(parent); parent = Path.GetDirectoryName(parent))
                directories.Add(parent);

        using var stream = File.Create(path);
        using var cpio = new NewcWriter(stream);
        // "/" root's and 0755, as on a host booted from its disk: the kernel's rootfs (a tmpfs) starts
        // 1777, and the helper, like sshd's StrictModes, takes no authorized_keys under a folder others can write.
        cpio.AddDirectory(".");
        foreach (string directory in directories) cpio.AddDirectory(directory);
        foreach (var (name, content, source, mode) in files)
        {
            if (content is not null) cpio.AddFile(name, content, mode);
            else
                using (var file = File.OpenRead(source!)) // follows library symlinks to their files
                    cpio.AddFile(name, file, file.Length, mode);
        }
        cpio.Finish();
    }

    const string Curl = "/usr/bin/curl";

    /// <summary>The stock host's init: drivers, a static address on QEMU's user network, the disk's record, sshd.</summary>
    const string Init = """
        #!/bin/sh
        /bin/busybox --install -s
        export PATH=/usr/sbin:/usr/bin:/sbin:/bin
        mount -t proc proc /proc
        mount -t sysfs sysfs /sys
        mount -t devtmpfs devtmpfs /dev
        exec </dev/console >/dev/console 2>&1
        while read -r module; do insmod "$module" 2>/dev/null; done </etc/anemos/modules
        waited=0
        while [ ! -e /dev/vda ] || [ ! -e /sys/class/net/eth0 ]; do
            [ "$waited" -ge 50 ] && break
            sleep 0.2; waited=$((waited + 1))
        done
        ip link set lo up
        ip link set eth0 up
        ip addr add 10.0.2.15/24 dev eth0
        ip route add default via 10.0.2.2
        record=$(head -c 512 /dev/vda | tr -d '\000' | head -n 1)
        case "$record" in
            ANEMOS-DEPLOYED*)
                echo "STOCK-HOST booted a deployed system: $record"
                for field in $record; do
                    case "$field" in
                        payload=*) echo "${field#payload=}" >/etc/anemos/payload.sha256 ;;
                        healthy=yes) touch /run/healthy ;;
                        newkey=yes) host_key=/etc/ssh/host_key_next ;;
                    esac
                done ;;
        esac
        @SSHD@ -D -e -f /etc/ssh/sshd_config -h "${host_key:-/etc/ssh/host_key}" >/dev/console 2>&1 &
        sleep 0.5
        echo "STOCK-HOST ready"
        while true; do sleep 3600; done

        """;
}
