using System.Formats.Tar;
using Anemos.Tasks.BaseImage;
using static Anemos.Tasks.BaseImage.BaseImageTree;

namespace Anemos.Tests.Tasks.InProcess;

/// <summary>The base image's parts in process: links resolved inside the tree, what it bootstraps, and the tarball extraction that never writes outside its folder.</summary>
public sealed class BaseImageTreeTests : IDisposable
{
    readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void ToolsAreFoundThroughTheTreesOwnLinksNeverTheBuildMachines()
    {
        var tree = Skeleton();
        tree.Add("usr/lib/apk-tools/apk.static", new FileNode("/dev/null", 0x1ED));
        tree.Add("sbin/apk", new LinkNode("../usr/lib/apk-tools/apk.static"));  // relative
        tree.Add("usr/local/bin", new LinkNode("/usr/bin"));                    // a folder link, absolute
        tree.Add("usr/bin/pacman", new FileNode("/dev/null", 0x1ED));
        tree.Add("usr/bin/pacstrap", new LinkNode("pacstrap"));                 // a loop: no file
        tree.Add("bin/busybox", new LinkNode("/nowhere/busybox"));              // dangling

        Assert.True(tree.HasTool("apk"));
        Assert.True(tree.HasFile("usr/local/bin/pacman"));
        Assert.False(tree.HasTool("pacstrap"));
        Assert.False(tree.HasFile("bin/busybox"));
        Assert.False(tree.HasTool("sh")); // the build machine has one; the tree does not
        Assert.Equal(["alpine"], Bootstrapper.FoundIn(tree));

        // arch's tools without its keyring: only for an IMGBUILD with keys/ (issue 28), then with it.
        tree.Add("usr/sbin/pacstrap", new FileNode("/dev/null", 0x1ED));
        Assert.Equal(["alpine"], Bootstrapper.FoundIn(tree));
        Assert.Equal(["arch"], Bootstrapper.FoundWithoutKeyringIn(tree));
        tree.Add("usr/share/keyrings/archlinux.gpg", new FileNode("/dev/null", 0x1A4));
        Assert.Equal(["alpine", "arch"], Bootstrapper.FoundIn(tree));
        Assert.Empty(Bootstrapper.FoundWithoutKeyringIn(tree));
    }

    static MemoryStream Tarball(params TarEntry[] entries)
    {
        var stream = new MemoryStream();
        using (var writer = new TarWriter(stream, TarEntryFormat.Pax, leaveOpen: true))
            foreach (var entry in entries) writer.WriteEntry(entry);
        stream.Position = 0;
        return stream;
    }

    [Theory]
    [InlineData("below-a-link", "holds 'lib/owned.txt' below 'lib', which the archive made a symlink")]
    [InlineData("dot-dot", "holds 'etc/../../owned.txt', which leaves the archive's root")]
    public void AnEntryThatWouldWriteOutsideTheFolderRefusesTheArchive(string shape, string why)
    {
        string victim = Directory.CreateDirectory(Path.Combine(_folder.Path, "victim")).FullName;
        string destination = Directory.CreateDirectory(Path.Combine(_folder.Path, "tree", "rootfs")).FullName;
        var owned = new PaxTarEntry(TarEntryType.RegularFile, shape == "dot-dot" ? "etc/../../owned.txt" : "lib/owned.txt") { DataStream = new MemoryStream("owned\n"u8.ToArray()) };
        using var tarball = Tarball(new PaxTarEntry(TarEntryType.SymbolicLink, "lib") { LinkName = victim }, owned);

        string? refused = RootfsTarball.Extract(tarball, destination, _ => { }, CancellationToken.None);

        Assert.StartsWith(why, refused);
        Assert.Empty(Directory.EnumerateFileSystemEntries(victim));
        Assert.False(File.Exists(Path.Combine(_folder.Path, "tree", "owned.txt")));
    }

    [Fact]
    public void HardLinksBecomeSymlinksAndDevicesAreSkipped()
    {
        string destination = Directory.CreateDirectory(Path.Combine(_folder.Path, "rootfs")).FullName;
        var skipped = new List<string>();
        using var tarball = Tarball(
            new PaxTarEntry(TarEntryType.RegularFile, "usr/bin/perl") { DataStream = new MemoryStream("perl\n"u8.ToArray()), Mode = (UnixFileMode)0x1ED },
            new PaxTarEntry(TarEntryType.HardLink, "usr/bin/perl5.36") { LinkName = "./usr/bin/perl" },
            new PaxTarEntry(TarEntryType.CharacterDevice, "dev/null") { DeviceMajor = 1, DeviceMinor = 3 });

        Assert.Null(RootfsTarball.Extract(tarball, destination, skipped.Add, CancellationToken.None));

        Assert.Equal("/usr/bin/perl", new FileInfo(Path.Combine(destination, "usr/bin/perl5.36")).LinkTarget);
        Assert.Equal((UnixFileMode)0x1ED, File.GetUnixFileMode(Path.Combine(destination, "usr/bin/perl")));
        Assert.False(File.Exists(Path.Combine(destination, "dev/null")));
        Assert.Contains(skipped, s => s.Contains("'dev/null' (CharacterDevice)"));
    }
}
