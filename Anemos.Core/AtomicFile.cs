namespace Anemos.Core;

/// <summary>
/// Writes a file so that readers see either the old file or the whole new one, never a part:
/// the content goes to a temporary sibling, then is renamed over the target. A failure or
/// cancellation deletes the temporary file and leaves the target as it was. With durable, the
/// content is also flushed to the disk before the rename (an fsync: it survives a power cut);
/// build artifacts do without, as compilers do, since everything that reads them checks sha256.
/// </summary>
public static class AtomicFile
{
    public static T Write<T>(string path, Func<FileStream, T> writeContent, bool durable = false)
    {
        string fullPath = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(fullPath)!);
        string temporary = TemporarySibling(fullPath);
        try
        {
            T result;
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, StreamCopy.BufferSize))
            {
                result = writeContent(stream);
                stream.Flush(flushToDisk: durable);
            }
            File.Move(temporary, fullPath, overwrite: true);
            return result;
        }
        catch
        {
            TryDelete(temporary);
            throw;
        }
    }

    public static void Write(string path, Action<FileStream> writeContent, bool durable = false) =>
        Write(path, stream => { writeContent(stream); return 0; }, durable);

    /// <summary>Writes <paramref name="content"/> unless the file already holds exactly these bytes (keeps its timestamp for incremental builds).</summary>
    public static bool WriteIfDifferent(string path, ReadOnlySpan<byte> content)
    {
        if (File.Exists(path))
        {
            var info = new FileInfo(path);
            if (info.Length == content.Length && File.ReadAllBytes(path).AsSpan().SequenceEqual(content))
                return false;
        }
        byte[] copy = content.ToArray();
        Write(path, stream => stream.Write(copy));
        return true;
    }

    public static string TemporarySibling(string fullPath) =>
        Path.Combine(Path.GetDirectoryName(fullPath)!, $".{Path.GetFileName(fullPath)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");

    public static void TryDelete(string path)
    {
        try { File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
