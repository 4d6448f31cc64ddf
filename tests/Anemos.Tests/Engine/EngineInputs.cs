using Anemos.Tests.Infrastructure;

namespace Anemos.Tests.Engine;

/// <summary>
/// The input files every successful engine test gives makeimg (files/), and the checks on the
/// tree it built: modes and owners kept, a symlink kept, a patch applied, a template expanded,
/// and what provision() wrote, with its exports, a host variable and the secrets.
/// </summary>
public static class EngineInputs
{
    /// <summary>provision() with shell built-ins only (the Arch test image has only busybox's sh).</summary>
    public const string Provision = """
        provision() {
            {
                echo "host=$ANEMOS_HOST role=$ROLE"
                echo "disk=$ANEMOS_INSTALL_DISK root=$ANEMOS_ROOT_PARTITION efi=$ANEMOS_EFI_PARTITION uuid=$ANEMOS_ROOT_UUID boot=$ANEMOS_BOOT_MODE"
                echo "secrets=$ANEMOS_SECRETS"
            } >/etc/provisioned
            if [ -n "$ANEMOS_SECRETS" ]; then
                read -r secret <"$ANEMOS_SECRETS/token"
                echo "$secret" >/etc/secret-seen
                if ( : >"$ANEMOS_SECRETS/new" ) 2>/dev/null; then echo writable; else echo read-only; fi >/etc/secrets-mode
            fi
            while read -r line; do echo "$line"; done </etc/resolv.conf >/etc/resolv-during-provision
            echo "tmpdir=[${TMPDIR:-}]" >>/etc/provisioned
            echo here >/run/provision-was-here
            echo "provision done"
        }
        """;

    public const string Secret = "s3cr3t-token";

    public static Dictionary<string, string?> Environment(string folder, bool secrets = true, Dictionary<string, string?>? more = null)
    {
        var environment = new Dictionary<string, string?>(more ?? []) { ["ANEMOS_HOST"] = "vm1", ["ROLE"] = "web", ["ANEMOS_SECRETS"] = null };
        if (secrets)
        {
            string folderOfSecrets = Path.Combine(folder, "secrets");
            Directory.CreateDirectory(folderOfSecrets);
            File.WriteAllText(Path.Combine(folderOfSecrets, "token"), Secret + "\n");
            environment["ANEMOS_SECRETS"] = folderOfSecrets;
        }
        return environment;
    }

    /// <summary>Writes files/ into the project: <paramref name="patchTarget"/> (an /etc file the packages install) gets <paramref name="patch"/>.</summary>
    public static void Write(string folder, string patchTarget, string patch)
    {
        string files = Path.Combine(folder, "files");
        void Put(string relative, string content, int mode)
        {
            string path = Path.Combine(files, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, content);
            File.SetUnixFileMode(path, (UnixFileMode)mode);
        }
        Put("etc/motd", "deployed by Anemos\n", 0x1A0);                 // 0640
        Put("usr/local/bin/hello-anemos", "#!/bin/sh\necho hi\n", 0x1ED); // 0755
        Put("opt/anemos/deep/data.txt", "deep\n", 0x180);                // 0600, new parents 0755
        Put("tmp/keep-mode", "x\n", 0x1A4);                              // /tmp stays 1777
        Put("etc/resolv.conf", "nameserver 192.0.2.53\n", 0x1A4);
        File.CreateSymbolicLink(Path.Combine(files, "etc/motd.link"), "motd");
        Put(patchTarget + ".makeimg.patch", patch, 0x1A4);
        Put("etc/anemos.conf.makeimg.template", "host=${ANEMOS_HOST} role=${ROLE}\nliteral=$${ROLE} plain=$ROLE cost=$5\n", 0x180);
        // A file owned by someone else is root's in the image.
        var chown = ProcessRunner.Run("chown", "-h", "65534:65534", Path.Combine(files, "etc/motd"), Path.Combine(files, "etc/motd.link"));
        Assert.True(chown.ExitCode == 0, chown.ToString());
    }

    static string Owner(string path) => ProcessRunner.Run("stat", "-c", "%u:%g", path).StandardOutput.Trim();

    static int Mode(string path) => (int)File.GetUnixFileMode(path);

    /// <summary>Checks a built tree (dir format, or a tar unpacked).</summary>
    public static void AssertTree(string tree, string patchTarget, string patchedContent, bool secrets = true)
    {
        string At(string relative) => Path.Combine(tree, relative);
        Assert.Equal(0x1ED, Mode(tree));
        Assert.Equal("deployed by Anemos\n", File.ReadAllText(At("etc/motd")));
        Assert.Equal(0x1A0, Mode(At("etc/motd")));
        Assert.Equal("0:0", Owner(At("etc/motd")));
        Assert.Equal(0x1ED, Mode(At("usr/local/bin/hello-anemos")));
        Assert.Equal(0x180, Mode(At("opt/anemos/deep/data.txt")));
        Assert.Equal(0x1ED, Mode(At("opt/anemos/deep")));
        Assert.Equal(0x1ED, Mode(At("opt/anemos")));
        Assert.Equal(0x3FF, Mode(At("tmp")));                          // 1777
        Assert.Equal("motd", new FileInfo(At("etc/motd.link")).LinkTarget);
        Assert.Equal("0:0", Owner(At("etc/motd.link")));
        Assert.False(File.Exists(At(patchTarget + ".makeimg.patch")));
        Assert.Equal(patchedContent, File.ReadAllText(At(patchTarget)));
        Assert.False(File.Exists(At(patchTarget + ".orig")) || File.Exists(At(patchTarget + ".rej")));
        Assert.Equal("host=vm1 role=web\nliteral=${ROLE} plain=$ROLE cost=$5\n", File.ReadAllText(At("etc/anemos.conf")));
        Assert.Equal(0x180, Mode(At("etc/anemos.conf")));
        Assert.False(File.Exists(At("etc/anemos.conf.makeimg.template")));

        string provisioned = File.ReadAllText(At("etc/provisioned"));
        Assert.Contains("host=vm1 role=web\n", provisioned);
        Assert.Contains("tmpdir=[]\n", provisioned);
        Assert.Contains("disk= root= efi= uuid= boot=" + (Directory.Exists("/sys/firmware/efi") ? "uefi" : "bios") + "\n", provisioned);
        // The resolver during provision was the installer's; the image's own came back after.
        Assert.Equal(string.Join("\n", File.ReadAllLines("/etc/resolv.conf").Select(l => l.Trim())) + "\n",
            string.Join("\n", File.ReadAllLines(At("etc/resolv-during-provision")).Select(l => l.Trim())) + "\n");
        Assert.Equal("nameserver 192.0.2.53\n", File.ReadAllText(At("etc/resolv.conf")));
        if (secrets)
        {
            Assert.Contains("secrets=/run/anemos/secrets\n", provisioned);
            Assert.Equal(Secret + "\n", File.ReadAllText(At("etc/secret-seen")));
            Assert.Equal("read-only\n", File.ReadAllText(At("etc/secrets-mode")));
        }
        // /run was the engine's tmpfs: nothing of provision, the IMGBUILD or the secrets stays.
        Assert.False(File.Exists(At("run/provision-was-here")));
        Assert.False(Directory.Exists(At("run/anemos")));
        Assert.False(Directory.Exists(At("run/makeimg")));
        Assert.False(File.Exists(At("etc/.resolv.conf.makeimg")));
    }
}
