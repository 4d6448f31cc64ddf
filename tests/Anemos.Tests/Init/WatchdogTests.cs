using Anemos.Tests.Infrastructure;

namespace Anemos.Tests.Init;

/// <summary>
/// The deploy init keeps a hardware watchdog serviced (keep_watchdog in anemos-init), run by the
/// guest's own busybox against a FIFO standing in for /dev/watchdog: the test reads the keepalives
/// as they come, so it waits for events, never for a time.
/// </summary>
public sealed class WatchdogTests : IDisposable
{
    readonly string _root = TestProject.NewDirectory();

    public void Dispose() { try { Directory.Delete(_root, recursive: true); } catch (IOException) { } }

    [Fact]
    public async Task ThePresentWatchdogIsServicedAgainAndAgainAndAMissingOneIsLeftAlone()
    {
        Directory.CreateDirectory(_root);
        string applets = GuestBusybox.InstallApplets(Path.Combine(_root, "applets"));
        string device = Path.Combine(_root, "watchdog");
        Assert.Equal(0, ProcessRunner.Run("mkfifo", device).ExitCode);
        string init = GuestBusybox.Init;
        var environment = new Dictionary<string, string?> { ["PATH"] = applets, ["ANEMOS_INIT_FUNCTIONS"] = "1" };

        var missing = ProcessRunner.Run(Path.Combine(applets, "sh"), ["-c", """. "$0"; keep_watchdog "$1" 1; echo "status=$?" """, init, Path.Combine(_root, "none")], environment: environment);
        Assert.Contains("status=1", missing.StandardOutput);

        var started = ProcessRunner.Run(Path.Combine(applets, "sh"), ["-c", """. "$0"; keep_watchdog "$1" 0.1; echo "status=$?" """, init, device], environment: environment);
        Assert.Contains("status=0", started.StandardOutput);
        // Three keepalives, each a write the loop makes after the one before: serviced for as long as it runs.
        var read = Task.Run(() =>
        {
            using var watchdog = File.OpenRead(device);
            byte[] buffer = new byte[3];
            watchdog.ReadExactly(buffer);
            return System.Text.Encoding.ASCII.GetString(buffer);
        });
        // A bound only for a broken loop: the reads end as soon as the third keepalive comes.
        Assert.Equal("kkk", await read.WaitAsync(TimeSpan.FromMinutes(1)));
        // Closing the device ends the loop (its next write fails): nothing is left running.
    }
}
