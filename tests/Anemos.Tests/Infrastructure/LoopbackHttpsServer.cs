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
/// it through SSL_CERT_FILE (which .NET on Linux reads), and only it. Counts requests per path,
/// and answers range requests (bytes=N-) unless told not to. The constructor's alsoFor adds
/// addresses to the certificate, such as the one a VM's guestfwd gives the server inside the guest.
/// </summary>
public sealed class LoopbackHttpsServer : IAsyncDisposable
{
    readonly WebApplication _app;
    readonly Dictionary<string, byte[]> _files = new();
    readonly Dictionary<string, int> _requests = new();
    readonly HashSet<string> _endless = new();
    readonly HashSet<string> _ignoresRanges = new();
    readonly List<string> _ranges = new();

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
            long from = 0;
            string range = context.Request.Headers.Range.ToString();
            lock (_requests) if (range.Length > 0) _ranges.Add(path + " " + range);
            if (range.StartsWith("bytes=") && range.EndsWith('-') && !_ignoresRanges.Contains(path) && long.TryParse(range[6..^1], out long start) && start < content.Length)
            {
                from = start;
                context.Response.StatusCode = 206;
                context.Response.Headers.ContentRange = $"bytes {start}-{content.Length - 1}/{content.Length}";
            }
            context.Response.ContentLength = content.Length - from;
            await context.Response.Body.WriteAsync(content.AsMemory((int)from));
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

    /// <summary>Answers every request for <paramref name="path"/> with the whole file, as servers without range support do.</summary>
    public void IgnoreRanges(string path) => _ignoresRanges.Add(path);

    /// <summary>The Range headers received, as "PATH bytes=N-".</summary>
    public IReadOnlyList<string> RangeRequests()
    {
        lock (_requests) return _ranges.ToList();
    }

    /// <summary>A client that trusts this server's certificate (and no other), for in-process downloads.</summary>
    /// <param name="cutAfter">When set, the first response's body breaks after this many bytes, as a reset connection does.</param>
    public HttpClient TrustingClient(long? cutAfter = null) => new(TrustingHandler(cutAfter)) { Timeout = TimeSpan.FromMinutes(2) };

    /// <summary>The handler behind <see cref="TrustingClient"/>, for code under test that makes its own HttpClient.</summary>
    public HttpMessageHandler TrustingHandler(long? cutAfter = null)
    {
        var trusted = X509Certificate2.CreateFromPem(File.ReadAllText(CertificateFile));
        var handler = new HttpClientHandler
        {
            ServerCertificateCustomValidationCallback = (_, certificate, _, _) => certificate is not null && certificate.RawData.AsSpan().SequenceEqual(trusted.RawData),
        };
        return cutAfter is { } bytes ? new CuttingHandler(bytes) { InnerHandler = handler } : handler;
    }

    public int Requests(string path)
    {
        lock (_requests) return _requests.GetValueOrDefault(path);
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();

    /// <summary>Breaks the first response's body after a number of bytes: a cut at a byte, not at a time.</summary>
    sealed class CuttingHandler(long cutAfter) : DelegatingHandler
    {
        bool _cut;

        protected override HttpResponseMessage Send(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = base.Send(request, cancellationToken);
            if (_cut) return response;
            _cut = true;
            return Cut(response, response.Content.ReadAsStream(cancellationToken));
        }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken);
            if (_cut) return response;
            _cut = true;
            return Cut(response, await response.Content.ReadAsStreamAsync(cancellationToken));
        }

        HttpResponseMessage Cut(HttpResponseMessage response, Stream body)
        {
            var headers = response.Content.Headers.ToList();
            response.Content = new StreamContent(new BreakingStream(body, cutAfter));
            foreach (var (name, values) in headers) response.Content.Headers.TryAddWithoutValidation(name, values);
            return response;
        }
    }

    sealed class BreakingStream(Stream inner, long left) : Stream
    {
        public override int Read(byte[] buffer, int offset, int count)
        {
            if (left == 0) throw new IOException("the connection was reset (a test's cut)");
            int read = inner.Read(buffer, offset, (int)Math.Min(count, left));
            left -= read;
            return read;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing) inner.Dispose();
            base.Dispose(disposing);
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
