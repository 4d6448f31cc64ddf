using System.Net;
using System.Net.Sockets;

namespace Anemos.Tests.Infrastructure;

/// <summary>A TCP port on 127.0.0.1 that was free a moment ago, for a VM's hostfwd.</summary>
public static class LoopbackPort
{
    public static int Free()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
