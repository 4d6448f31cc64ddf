using System.Net;
using System.Net.Sockets;

namespace Anemos.Tests.Ssh;

/// <summary>
/// A TCP proxy on 127.0.0.1 in front of a local port that cuts every connection once a given
/// number of bytes (both directions together) went through it, and refuses new connections
/// until it is armed again: a fault that happens at a byte, not at a time.
/// </summary>
public sealed class CuttingTcpProxy : IDisposable
{
    readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    readonly int _targetPort;
    readonly object _gate = new();
    readonly List<Socket> _open = [];
    long _forwarded;
    long _forwardedToTarget;
    long? _cutAfter;
    bool _cut, _refuseAfterCut = true;

    public int Port { get; }

    public CuttingTcpProxy(int targetPort)
    {
        _targetPort = targetPort;
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        new Thread(AcceptLoop) { IsBackground = true, Name = "cutting proxy" }.Start();
    }

    /// <summary>Bytes forwarded since the last <see cref="Arm"/>.</summary>
    public long Forwarded { get { lock (_gate) return _forwarded; } }

    /// <summary>Of those, the bytes from the clients to the target (what an ssh client sent to the host).</summary>
    public long ForwardedToTarget { get { lock (_gate) return _forwardedToTarget; } }

    /// <summary>Whether the connections were cut since the last <see cref="Arm"/>.</summary>
    public bool Cut { get { lock (_gate) return _cut; } }

    /// <summary>
    /// Counts from zero again; cuts after <paramref name="cutAfter"/> bytes, or never when null. With
    /// <paramref name="refuseAfterCut"/> false, new connections after the cut pass (and are never cut): one cut, then a clean line.
    /// </summary>
    public void Arm(long? cutAfter, bool refuseAfterCut = true)
    {
        lock (_gate)
        {
            _refuseAfterCut = refuseAfterCut;
            _forwarded = 0;
            _forwardedToTarget = 0;
            _cutAfter = cutAfter;
            _cut = false;
        }
    }

    void AcceptLoop()
    {
        while (true)
        {
            Socket client;
            try { client = _listener.AcceptSocket(); }
            catch (SocketException) { return; }
            catch (ObjectDisposedException) { return; }
            lock (_gate)
            {
                if (_cut && _refuseAfterCut)
                {
                    Abort(client);
                    continue;
                }
            }
            var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try { server.Connect(IPAddress.Loopback, _targetPort); }
            catch (SocketException)
            {
                Abort(client);
                server.Dispose();
                continue;
            }
            lock (_gate) _open.AddRange([client, server]);
            new Thread(() => Pump(client, server, toTarget: true)) { IsBackground = true }.Start();
            new Thread(() => Pump(server, client, toTarget: false)) { IsBackground = true }.Start();
        }
    }

    void Pump(Socket from, Socket to, bool toTarget)
    {
        var buffer = new byte[16384];
        try
        {
            while (true)
            {
                int read = from.Receive(buffer);
                if (read == 0)
                {
                    to.Shutdown(SocketShutdown.Send);
                    return;
                }
                int pass;
                bool cutNow;
                lock (_gate)
                {
                    if (_cut && _refuseAfterCut) return;
                    pass = _cut ? read : _cutAfter is { } limit ? (int)Math.Min(read, Math.Max(0, limit - _forwarded)) : read;
                    _forwarded += pass;
                    if (toTarget) _forwardedToTarget += pass;
                    cutNow = !_cut && _cutAfter is { } l && _forwarded >= l;
                }
                if (pass > 0) to.Send(buffer, 0, pass, SocketFlags.None);
                if (cutNow)
                {
                    CutAll();
                    return;
                }
            }
        }
        catch (SocketException) { }
        catch (ObjectDisposedException) { }
    }

    /// <summary>Cuts every open connection now (the caller's event), as a byte count would.</summary>
    public void CutNow() => CutAll();

    /// <summary>Resets every open connection, both sides, and refuses new ones until the next <see cref="Arm"/> (unless armed to accept them).</summary>
    void CutAll()
    {
        List<Socket> sockets;
        lock (_gate)
        {
            _cut = true;
            sockets = [.. _open];
            _open.Clear();
        }
        foreach (var socket in sockets) Abort(socket);
    }

    static void Abort(Socket socket)
    {
        try { socket.LingerState = new LingerOption(true, 0); } catch (SocketException) { } catch (ObjectDisposedException) { }
        socket.Dispose();
    }

    public void Dispose()
    {
        _listener.Stop();
        CutAll();
    }
}
