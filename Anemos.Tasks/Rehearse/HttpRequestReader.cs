using System.Text;

namespace Anemos.Tasks.Rehearse;

/// <summary>One request line and its headers.</summary>
public sealed record HttpRequest(string Method, string Target);

/// <summary>Reads HTTP/1.1 requests one after another from a connection (pipelined requests wait in its buffer).</summary>
public sealed class HttpRequestReader(Stream stream)
{
    const int MaximumHeaderBytes = 16 * 1024;
    readonly byte[] _buffer = new byte[MaximumHeaderBytes];
    int _start, _end;

    /// <summary>The next request, or null at the end of the connection. A request with a body or too long a header ends it too.</summary>
    public async Task<HttpRequest?> ReadAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            int headerEnd = _buffer.AsSpan(_start, _end - _start).IndexOf("\r\n\r\n"u8);
            if (headerEnd >= 0)
            {
                string header = Encoding.ASCII.GetString(_buffer, _start, headerEnd);
                _start += headerEnd + 4;
                return Parse(header);
            }
            if (_start > 0)
            {
                Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }
            if (_end == _buffer.Length) return null;
            int read = await stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken);
            if (read == 0) return null;
            _end += read;
        }
    }

    static HttpRequest? Parse(string header)
    {
        var lines = header.Split("\r\n");
        var parts = lines[0].Split(' ');
        if (parts.Length != 3 || !parts[2].StartsWith("HTTP/1.", StringComparison.Ordinal)) return null;
        foreach (var line in lines.Skip(1))
        {
            int colon = line.IndexOf(':');
            if (colon <= 0) return null;
            string name = line[..colon].Trim();
            // A body would have to be read past; apt never sends one.
            if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase) && line[(colon + 1)..].Trim() != "0") return null;
            if (name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase)) return null;
        }
        return new HttpRequest(parts[0], parts[1]);
    }
}
