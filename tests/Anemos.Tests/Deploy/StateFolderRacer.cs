using System.Text;
using Anemos.Tests.Infrastructure;
using Anemos.Tests.Ssh;

namespace Anemos.Tests.Deploy;

/// <summary>
/// A second, unprivileged local user (nobody) racing a deploy for the helper's state folder, the
/// reproduction of issue 28.1. Each time a remote command of the deploy ends (sshd's "Close session"
/// line, followed through inotify), it tries to make STATE/bin itself and put a helper of its own
/// there. A deploy that checked the way before the folder existed would run that file as root with
/// its next command; the file writes its uid to <see cref="Marker"/> when it runs.
/// </summary>
sealed class StateFolderRacer : IDisposable
{
    readonly string _log, _state;
    readonly AutoResetEvent _logChanged = new(false);
    readonly FileSystemWatcher _watcher;
    readonly Thread _thread;
    volatile bool _stopping;
    long _offset;

    /// <summary>Where the planted helper writes its uid: it exists only if the deploy ran it.</summary>
    public string Marker { get; }
    /// <summary>How often the racer tried, and how often it got its file into STATE/bin.</summary>
    public int Attempts { get; private set; }
    public int Planted { get; private set; }

    public StateFolderRacer(LoopbackSshServer server, string state, string markerFolder)
    {
        _log = server.Log;
        _state = state;
        Marker = Path.Combine(markerFolder, "planted-helper-ran-as-uid");
        _offset = File.Exists(_log) ? new FileInfo(_log).Length : 0;
        _watcher = new FileSystemWatcher(server.Directory, Path.GetFileName(_log)) { NotifyFilter = NotifyFilters.LastWrite | NotifyFilters.Size };
        _watcher.Changed += (_, _) => _logChanged.Set();
        _watcher.EnableRaisingEvents = true;
        _thread = new Thread(Race) { IsBackground = true, Name = "state folder racer" };
        _thread.Start();
    }

    void Race()
    {
        while (true)
        {
            _logChanged.WaitOne();
            if (_stopping) return;
            foreach (string _ in NewLines().Where(l => l.Contains("Close session:", StringComparison.Ordinal)))
                TryPlant();
        }
    }

    IEnumerable<string> NewLines()
    {
        using var log = new FileStream(_log, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        log.Seek(_offset, SeekOrigin.Begin);
        using var reader = new StreamReader(log, Encoding.UTF8);
        string text = reader.ReadToEnd();
        int complete = text.LastIndexOf('\n') + 1; // a line still being written is read with the next event
        _offset += Encoding.UTF8.GetByteCount(text[..complete]);
        return text[..complete].Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    void TryPlant()
    {
        Attempts++;
        // As nobody: make the folders (open to all, as a careless or hostile user would) and the helper.
        var plant = ProcessRunner.Run("setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "sh", "-c",
            """
            mkdir -p "$1/bin" 2>/dev/null; chmod 0777 "$1" "$1/bin" 2>/dev/null
            printf '#!/bin/sh\nid -u > %s\nexit 1\n' "$2" > "$1/bin/anemos-kexec" && chmod 0755 "$1/bin/anemos-kexec"
            """, "racer", _state, Marker);
        if (plant.ExitCode == 0) Planted++;
    }

    public void Dispose()
    {
        _stopping = true;
        _logChanged.Set();
        _thread.Join();
        _watcher.Dispose();
        _logChanged.Dispose();
    }
}
