using System.Text.Json;
using Anemos.Tests.Infrastructure;

namespace Anemos.Tests.Vm;

/// <summary>Reads a disk image from outside the VM with the host's own tools: sfdisk, debugfs and fsck.fat.</summary>
public static class DiskImage
{
    public sealed record Partition(long Start, long Sectors, string Type);

    public static (string Label, List<Partition> Partitions) PartitionTable(string image)
    {
        var dump = ProcessRunner.Run("sfdisk", "--json", image);
        Assert.True(dump.ExitCode == 0, "sfdisk cannot read the partition table:\n" + dump);
        var table = JsonDocument.Parse(dump.StandardOutput).RootElement.GetProperty("partitiontable");
        var partitions = table.GetProperty("partitions").EnumerateArray()
            .Select(p => new Partition(p.GetProperty("start").GetInt64(), p.GetProperty("size").GetInt64(), p.GetProperty("type").GetString()!))
            .ToList();
        return (table.GetProperty("label").GetString()!, partitions);
    }

    /// <summary>Copies one partition (1-based) out of the image, for debugfs.</summary>
    public static string ExtractPartition(string image, int number)
    {
        var partition = PartitionTable(image).Partitions[number - 1];
        string output = image + $".p{number}";
        using var source = File.OpenRead(image);
        using var destination = File.Create(output);
        source.Seek(partition.Start * 512, SeekOrigin.Begin);
        Anemos.Core.StreamCopy.CopyExactly(source, destination, partition.Sectors * 512);
        return output;
    }

    /// <summary>The text a payload wrote at the start of a raw disk, up to its "end" line (disks may be gigabytes: read only the head).</summary>
    public static string ReadRecord(string image)
    {
        byte[] head = new byte[8192];
        using (var stream = File.OpenRead(image)) stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        string text = System.Text.Encoding.UTF8.GetString(head);
        int end = text.IndexOf("end\n", StringComparison.Ordinal);
        Assert.True(end >= 0, "the payload wrote no record onto the disk:\n" + text.TrimEnd('\0'));
        return text[..end];
    }

    /// <summary><paramref name="count"/> bytes of the image from <paramref name="offset"/>.</summary>
    public static byte[] ReadBytes(string image, long offset, int count)
    {
        byte[] bytes = new byte[count];
        using var stream = File.OpenRead(image);
        stream.Seek(offset, SeekOrigin.Begin);
        stream.ReadExactly(bytes);
        return bytes;
    }

    /// <summary>
    /// The paths in a FAT partition (an ESP) at <paramref name="start"/> sectors, <paramref name="sectors"/> long,
    /// as fsck.fat lists them: the partition is copied out of the image first, never attached as a loop
    /// device another test's engine may detach or reuse.
    /// </summary>
    public static string ListFat(string image, long start, long sectors)
    {
        string copy = image + ".fat-" + Guid.NewGuid().ToString("n");
        try
        {
            var dd = ProcessRunner.Run("dd", $"if={image}", $"of={copy}", "bs=1M", "iflag=skip_bytes,count_bytes", $"skip={start * 512}", $"count={sectors * 512}", "status=none");
            Assert.True(dd.ExitCode == 0, dd.ToString());
            var listing = ProcessRunner.Run("fsck.fat", "-n", "-l", copy);
            // 1: it found something it would fix, such as the dirty bit of an ESP a VM's poweroff left mounted; it lists the files all the same.
            Assert.True(listing.ExitCode is 0 or 1, listing.ToString());
            return listing.StandardOutput;
        }
        finally
        {
            File.Delete(copy);
        }
    }

    public static string ReadFile(string filesystemImage, string path)
    {
        var cat = ProcessRunner.Run("debugfs", "-R", $"cat {path}", filesystemImage);
        Assert.True(cat.ExitCode == 0, cat.ToString());
        return cat.StandardOutput;
    }
}
