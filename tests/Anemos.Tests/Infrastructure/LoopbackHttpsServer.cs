using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Anemos.Tests.Infrastructure;

/// <summary>
/// A real HTTPS server on 127.0.0.1 with a certificate made for the test. Child processes trust
/// it through SSL_CERT_FILE (which .NET on Linux reads), and only it. Counts requests per path.
/// The constructor's alsoFor adds addresses to the certificate, such as the one a VM's guestfwd
/// gives the server inside the guest.
/// </summary>
public sealed class LoopbackHttpsServer : IAsyncDisposable
{
    readonly WebApplication _app;
    readonly Dictionary<string, byte[]> _files = new();
    readonly Dictionary<string, int> _requests = new();
    readonly HashSet<string> _endless = new();

    public string CertificateFile { get; }
    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>The loopback port the server listens on (what a guestfwd forwards to).</summary>
    public int Port => BaseAddress.Port;

    public LoopbackHttpsServer(string directory, params IPAddress[] alsoFor)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        foreach (var address in alsoFor) names.AddIpAddress(address);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        var certificate = X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pfx), null);
        CertificateFile = Path.Combine(directory, "test-ca.pem");
        File.WriteAllText(CertificateFile, certificate.ExportCertificatePem());

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, o => o.UseHttps(certificate)));
        _app = builder.Build();
        _app.Run(async context =>
        {
            string path = context.Request.Path.Value ?? "";
            lock (_requests) _requests[path] = _requests.GetValueOrDefault(path) + 1;
            if (_endless.Contains(path))
            {
                // A server that never stops sending: zeros until the client hangs up.
                byte[] chunk = new byte[64 * 1024];
                try
                {
                    while (true) await context.Response.Body.WriteAsync(chunk, context.RequestAborted);
                }
                catch (Exception e) when (e is OperationCanceledException or IOException) { }
                return;
            }
            if (!_files.TryGetValue(path, out var content))
            {
                context.Response.StatusCode = 404;
                return;
            }
            context.Response.ContentLength = content.Length;
            await context.Response.Body.WriteAsync(content);
        });
    }

    public async Task StartAsync()
    {
        await _app.StartAsync();
        BaseAddress = new Uri(_app.Urls.First());
    }

    public string Serve(string path, byte[] content)
    {
        _files[path] = content;
        return new Uri(BaseAddress, path).ToString();
    }

    /// <summary>A URL whose body never ends (no Content-Length): what a download must cap itself.</summary>
    public string ServeEndless(string path)
    {
        _endless.Add(path);
        return new Uri(BaseAddress, path).ToString();
    }

    public int Requests(string path)
    {
        lock (_requests) return _requests.GetValueOrDefault(path);
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
