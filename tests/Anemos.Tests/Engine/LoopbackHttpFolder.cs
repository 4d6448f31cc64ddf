using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Anemos.Tests.Engine;

/// <summary>A plain HTTP server on 127.0.0.1 (a free port) that serves the files of one folder: a local Debian mirror.</summary>
public sealed class LoopbackHttpFolder : IAsyncDisposable
{
    readonly WebApplication _app;
    readonly string _root;

    public Uri BaseAddress { get; private set; } = null!;

    public LoopbackHttpFolder(string root)
    {
        _root = Path.GetFullPath(root);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        _app = builder.Build();
        _app.Run(async context =>
        {
            string relative = Uri.UnescapeDataString(context.Request.Path.Value ?? "").TrimStart('/');
            string path = Path.GetFullPath(Path.Combine(_root, relative));
            if (!path.StartsWith(_root + "/", StringComparison.Ordinal) || !File.Exists(path))
            {
                context.Response.StatusCode = 404;
                return;
            }
            // A symlink (repo-add's REPO.db) is served as the file it names: FileInfo's length is the link's own.
            var info = new FileInfo(path);
            if (info.LinkTarget is not null) info = (FileInfo)info.ResolveLinkTarget(returnFinalTarget: true)!;
            context.Response.ContentLength = info.Length;
            context.Response.ContentType = "application/octet-stream";
            if (HttpMethods.IsHead(context.Request.Method)) return;
            await using var stream = File.OpenRead(path);
            await stream.CopyToAsync(context.Response.Body);
        });
    }

    public async Task StartAsync()
    {
        await _app.StartAsync();
        BaseAddress = new Uri(_app.Urls.First());
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
