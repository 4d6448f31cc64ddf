using System.Diagnostics;

namespace Anemos.Tests.Infrastructure;

/// <summary>
/// An exclusive lock on a cache under /var/cache/anemos-tests shared by the test classes that run
/// side by side (their fixtures start together) and by other runs on the machine: the first to
/// take it fills the cache, the others wait and then find it filled. Without it two fixtures saw
/// the same stale cache, both deleted and downloaded it, and one built its mirror from the other's
/// half-downloaded folder. A flock (FileShare.None), so a killed holder releases it.
/// </summary>
public static class CacheLock
{
    public static IDisposable Acquire(string cache, TimeSpan timeout)
    {
        string path = cache.TrimEnd('/') + ".lock";
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (clock.Elapsed < timeout)
            {
                // Held by another fixture or run: it is filling the cache (a download, a native build).
                Thread.Sleep(TimeSpan.FromSeconds(1));
            }
        }
    }
}
