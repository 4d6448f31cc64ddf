using System.Net.Sockets;
using Anemos.Tasks.Ssh;
using Anemos.Tests.Infrastructure;

namespace Anemos.Tests.Ssh;

/// <summary>
/// The sweep of control folders left by killed runs acts only on this user's own folders: another
/// user's folder (real files, chowned to nobody) keeps its tree, and its socket is never contacted.
/// </summary>
public sealed class ControlFolderTests : IDisposable
{
    readonly string _temp = TestProject.NewDirectory();

    public void Dispose()
    {
        try { Directory.Delete(_temp, recursive: true); } catch (IOException) { }
    }

    static int DeadProcessId()
    {
        using var process = System.Diagnostics.Process.Start("true")!;
        process.WaitForExit();
        return process.Id;
    }

    /// <summary>
    /// A listening socket that answers every connection by closing it (so a client such as `ssh -O exit`
    /// ends at once) and counts the connections: the event that the sweep touched it.
    /// </summary>
    sealed class Listener : IDisposable
    {
        readonly Socket _socket = new(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        readonly Thread _thread;
        int _connections;

        public Listener(string path)
        {
            _socket.Bind(new UnixDomainSocketEndPoint(path));
            _socket.Listen(4);
            _thread = new Thread(() =>
            {
                try
                {
                    while (true)
                    {
                        using var client = _socket.Accept();
                        Interlocked.Increment(ref _connections);
                    }
                }
                catch (SocketException) { }
                catch (ObjectDisposedException) { }
            }) { IsBackground = true };
            _thread.Start();
        }

        /// <summary>Connections so far; the accept loop is stopped first, so none is in flight.</summary>
        public int Stop()
        {
            // A connection the sweep made is complete before RemoveStale returns (ssh has exited): it is queued or counted.
            bool pending = _socket.Poll(0, SelectMode.SelectRead);
            _socket.Dispose();
            _thread.Join();
            return Volatile.Read(ref _connections) + (pending ? 1 : 0);
        }

        public void Dispose() => _socket.Dispose();
    }

    /// <summary>A folder as a killed run leaves it: owner file naming a dead process, and a listening socket "mux".</summary>
    (string Folder, Listener Listener) StaleFolder(string name, string? chownTo = null, UnixFileMode mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute)
    {
        string folder = Path.Combine(_temp, name);
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "owner"), DeadProcessId().ToString(System.Globalization.CultureInfo.InvariantCulture));
        var listener = new Listener(ControlFolder.Socket(folder));
        File.SetUnixFileMode(folder, mode);
        if (chownTo is not null)
        {
            var chown = ProcessRunner.Run("chown", "-R", chownTo, folder);
            Assert.True(chown.ExitCode == 0, chown.ToString());
        }
        return (folder, listener);
    }

    [Fact]
    public void TheSweepLeavesOtherUsersFoldersAndSocketsAlone()
    {
        Assert.True(UnixFileKind() == 0, "this test chowns files to nobody: run it as root");
        var (foreign, foreignSocket) = StaleFolder("anemos-ssh-foreign", chownTo: "nobody:nogroup");
        var (open, openSocket) = StaleFolder("anemos-ssh-open", mode: (UnixFileMode)0x1FF); // ours, but 0777: not the shape we make
        var (own, ownSocket) = StaleFolder("anemos-ssh-own");
        using (foreignSocket) using (openSocket) using (ownSocket)
        {
            ControlFolder.RemoveStale(_temp);

            Assert.True(File.Exists(Path.Combine(foreign, "owner")), "another user's control folder was deleted");
            Assert.True(foreignSocket.Stop() == 0, "the sweep connected to another user's control socket");
            Assert.True(File.Exists(Path.Combine(open, "owner")), "a folder others can write was swept");
            Assert.True(openSocket.Stop() == 0, "the sweep connected to a socket in a folder others can write");
            // The control: this user's own stale folder goes, its master told to exit (ssh connected to the socket).
            Assert.False(Directory.Exists(own), "this user's stale control folder is still there");
            Assert.True(ownSocket.Stop() > 0, "the sweep did not ask the stale master to exit");
        }
    }

    static uint UnixFileKind() => Anemos.Tasks.UnixFileKind.EffectiveUserId() ?? uint.MaxValue;
}
