using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace Acp.GptOss.Tests.Support;

/// <summary>What one content request suffers.</summary>
public enum FaultKind
{
    /// <summary>The connection is reset (RST) after <see cref="Fault.AfterBytes"/> bytes of body.</summary>
    Reset,

    /// <summary>After <see cref="Fault.AfterBytes"/> bytes nothing more comes, and the connection stays open.</summary>
    Stall,

    /// <summary>HTTP 503 at once.</summary>
    ServerError,

    /// <summary>The connection closes cleanly after <see cref="Fault.AfterBytes"/> bytes, fewer than its Content-Length.</summary>
    ShortBody,

    /// <summary>The Range header is ignored: 200 with the whole file.</summary>
    IgnoreRange,

    /// <summary>After <see cref="Fault.AfterBytes"/> bytes the body pauses until <see cref="Fault.Resume"/> completes, then goes on.</summary>
    Pause,
}

/// <summary>How the resolve endpoint hands out the bytes.</summary>
public enum Delivery
{
    /// <summary>The resolve address answers with the bytes.</summary>
    Direct,

    /// <summary>A 302 to another path on this host, as the Hub does for LFS files.</summary>
    RedirectHere,

    /// <summary>A 302 to <see cref="FakeHub.Cdn"/>, another host.</summary>
    RedirectToCdn,
}

internal sealed record Fault(FaultKind Kind, long AfterBytes = 0, Task? Resume = null);

/// <summary>A file the hub serves. <paramref name="StatedSha256"/> is what its headers claim.</summary>
internal sealed record HostedFile(string Repository, string FileName, byte[] Content, string Sha256, string StatedSha256, string Commit)
{
    public string Id { get; } = Guid.NewGuid().ToString("N");

    public string Spec => $"{Repository}/{FileName}";
}

/// <summary>A request as the hub saw it.</summary>
internal sealed record SeenRequest(string Method, string Path, long? RangeStart, string? Authorization, bool Content);

/// <summary>
/// A Hugging Face Hub on loopback, in-process: <c>/{org}/{repo}/resolve/{revision}/{file}</c> with the Hub's headers
/// (X-Repo-Commit, X-Linked-Etag, X-Linked-Size, ETag), redirects to a CDN path, Range requests, and faults
/// injected per content request in the order they are queued. A plain HTTP/1.1 server on a TcpListener (one
/// request per connection), so a fault is exactly what the wire shows: a reset is an RST, a stall an open socket
/// that says nothing, a short body a clean close before Content-Length bytes.
/// </summary>
internal sealed class FakeHub : IAsyncDisposable
{
    public const string TestCommit = "0123456789abcdef0123456789abcdef01234567";

    private const int Chunk = 32 * 1024;

    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<string, HostedFile> _files = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _renamed = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<Fault> _faults = new();
    private readonly ConcurrentDictionary<Task, bool> _connections = new();
    private readonly List<SeenRequest> _requests = [];
    private readonly Task _accepting;
    private long _bodyBytes;

    private FakeHub(string hostName)
    {
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        Endpoint = new Uri($"http://{hostName}:{((IPEndPoint)_listener.LocalEndpoint).Port}");
        _accepting = AcceptAsync();
    }

    /// <summary>The hub's address, for HF_ENDPOINT.</summary>
    public Uri Endpoint { get; }

    public Delivery Delivery { get; set; } = Delivery.RedirectHere;

    /// <summary>The other host <see cref="Delivery.RedirectToCdn"/> sends clients to.</summary>
    public FakeHub? Cdn { get; set; }

    /// <summary>Body bytes written in all content responses.</summary>
    public long BodyBytes => Interlocked.Read(ref _bodyBytes);

    public List<SeenRequest> Requests
    {
        get
        {
            lock (_requests)
            {
                return [.. _requests];
            }
        }
    }

    /// <summary>The content requests, in order.</summary>
    public List<SeenRequest> ContentRequests => [.. Requests.Where(r => r.Content)];

    /// <summary>Starts a hub on 127.0.0.1, named <paramref name="hostName"/> in <see cref="Endpoint"/>.</summary>
    public static Task<FakeHub> StartAsync(string hostName = "127.0.0.1") => Task.FromResult(new FakeHub(hostName));

    /// <summary>Deterministic bytes: a given seed always gives the same file.</summary>
    public static byte[] RandomContent(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    /// <summary>Serves <paramref name="content"/> as ORG/REPO/FILE; <paramref name="statedSha256"/> lies about it when given.</summary>
    public HostedFile Add(string repository, string fileName, byte[] content, string? statedSha256 = null, string commit = TestCommit)
    {
        string sha256 = Convert.ToHexStringLower(SHA256.HashData(content));
        var file = new HostedFile(repository, fileName, content, sha256, statedSha256 ?? sha256, commit);
        Host(file);
        return file;
    }

    /// <summary>Serves a file another hub describes (for a CDN).</summary>
    public void Host(HostedFile file) => _files[$"{file.Repository}/{file.FileName}"] = file;

    /// <summary>Answers requests for <paramref name="oldRepository"/> with a relative redirect to <paramref name="newRepository"/>, as for a renamed repository.</summary>
    public void Rename(string oldRepository, string newRepository) => _renamed[oldRepository] = newRepository;

    public void Enqueue(params Fault[] faults)
    {
        foreach (Fault fault in faults)
        {
            _faults.Enqueue(fault);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        await Task.WhenAll(_connections.Keys);
        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (true)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            Task connection = ServeAsync(client);
            _connections[connection] = true;
            _ = connection.ContinueWith(t => _connections.TryRemove(t, out _), TaskScheduler.Default);
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using (client)
        {
            try
            {
                NetworkStream stream = client.GetStream();
                if (await ReadRequestAsync(stream) is { } request)
                {
                    await HandleAsync(client, stream, request);
                }
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
            {
                // The client went away, or the hub is stopping.
            }
        }
    }

    private async Task<Request?> ReadRequestAsync(NetworkStream stream)
    {
        var head = new List<byte>();
        var one = new byte[1];
        while (head.Count < 4 || !(head[^4] == '\r' && head[^3] == '\n' && head[^2] == '\r' && head[^1] == '\n'))
        {
            if (await stream.ReadAsync(one, _stop.Token) == 0 || head.Count > 64 * 1024)
            {
                return null;
            }

            head.Add(one[0]);
        }

        string[] lines = Encoding.ASCII.GetString([.. head]).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        string[] requestLine = lines[0].Split(' ');
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (string line in lines.Skip(1))
        {
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            headers[line[..colon].Trim()] = line[(colon + 1)..].Trim();
        }

        string path = Uri.UnescapeDataString(requestLine[1].Split('?')[0]);
        return new Request(requestLine[0], path, headers);
    }

    private async Task HandleAsync(TcpClient client, NetworkStream stream, Request request)
    {
        string[] parts = request.Path.TrimStart('/').Split('/');

        // Recorded as it arrives, before any answer: a client's next request can arrive before this handler ends.
        int seen;
        lock (_requests)
        {
            seen = _requests.Count;
            _requests.Add(new SeenRequest(request.Method, request.Path, RangeStart(request), request.Headers.GetValueOrDefault("Authorization"), Content: false));
        }

        void MarkContent()
        {
            if (request.Method == "GET")
            {
                lock (_requests)
                {
                    _requests[seen] = _requests[seen] with { Content = true };
                }
            }
        }

        if (parts is ["cdn", var id, ..] && _files.Values.FirstOrDefault(f => f.Id == id) is { } cdnFile)
        {
            MarkContent();
            await ServeContentAsync(client, stream, request, cdnFile, metadata: false);
            return;
        }

        if (parts.Length < 5 || parts[2] != "resolve")
        {
            await WriteHeadAsync(stream, 404, "Not Found", new() { ["Content-Length"] = "0" });
            return;
        }

        string repository = $"{parts[0]}/{parts[1]}";
        if (_renamed.TryGetValue(repository, out string? renamed))
        {
            // A relative Location, as the Hub answers for a renamed repository.
            await WriteHeadAsync(stream, 307, "Temporary Redirect", new()
            {
                ["Location"] = $"/{renamed}/{string.Join('/', parts[2..])}",
                ["Content-Length"] = "0",
            });
            return;
        }

        string revision = parts[3];
        if (!_files.TryGetValue($"{repository}/{string.Join('/', parts[4..])}", out HostedFile? file)
            || (revision != "main" && revision != file.Commit))
        {
            await WriteHeadAsync(stream, 404, "Not Found", new()
            {
                ["X-Error-Code"] = file is null ? "EntryNotFound" : "RevisionNotFound",
                ["Content-Length"] = "0",
            });
            return;
        }

        if (Delivery == Delivery.Direct)
        {
            MarkContent();
            await ServeContentAsync(client, stream, request, file, metadata: true);
            return;
        }

        Uri cdn = Delivery == Delivery.RedirectToCdn ? Cdn!.Endpoint : Endpoint;
        Dictionary<string, string> headers = Metadata(file);
        headers["Location"] = $"{cdn.AbsoluteUri.TrimEnd('/')}/cdn/{file.Id}?X-Amz-Signature=secret";
        headers["Content-Length"] = "0";
        await WriteHeadAsync(stream, 302, "Found", headers);
    }

    private async Task ServeContentAsync(TcpClient client, NetworkStream stream, Request request, HostedFile file, bool metadata)
    {
        Dictionary<string, string> headers = metadata ? Metadata(file) : new(StringComparer.OrdinalIgnoreCase);
        headers["Accept-Ranges"] = "bytes";
        long length = file.Content.Length;
        if (request.Method == "HEAD")
        {
            headers["Content-Length"] = length.ToString(CultureInfo.InvariantCulture);
            await WriteHeadAsync(stream, 200, "OK", headers);
            return;
        }

        Fault? fault = _faults.TryDequeue(out Fault? queued) ? queued : null;
        if (fault?.Kind == FaultKind.ServerError)
        {
            await WriteHeadAsync(stream, 503, "Service Unavailable", new() { ["Content-Length"] = "0" });
            return;
        }

        long start = fault?.Kind == FaultKind.IgnoreRange ? 0 : RangeStart(request) ?? 0;
        if (start >= length)
        {
            await WriteHeadAsync(stream, 416, "Range Not Satisfiable", new() { ["Content-Range"] = $"bytes */{length}", ["Content-Length"] = "0" });
            return;
        }

        headers["Content-Length"] = (length - start).ToString(CultureInfo.InvariantCulture);
        if (start > 0)
        {
            headers["Content-Range"] = $"bytes {start}-{length - 1}/{length}";
        }

        await WriteHeadAsync(stream, start > 0 ? 206 : 200, start > 0 ? "Partial Content" : "OK", headers);
        long limit = fault?.Kind is FaultKind.Reset or FaultKind.Stall or FaultKind.ShortBody ? Math.Min(fault.AfterBytes, length - start) : length - start;
        long pauseAt = fault?.Kind == FaultKind.Pause ? fault.AfterBytes : -1;
        for (long sent = 0; sent < limit;)
        {
            if (sent == pauseAt)
            {
                await stream.FlushAsync(_stop.Token);
                await fault!.Resume!.WaitAsync(_stop.Token);
            }

            int count = (int)Math.Min(pauseAt > sent ? Math.Min(Chunk, pauseAt - sent) : Chunk, limit - sent);
            await stream.WriteAsync(file.Content.AsMemory((int)(start + sent), count), _stop.Token);
            sent += count;
            Interlocked.Add(ref _bodyBytes, count);
        }

        await stream.FlushAsync(_stop.Token);
        switch (fault?.Kind)
        {
            case FaultKind.Reset:
                // Linger 0: close sends RST, not FIN.
                client.Client.LingerState = new LingerOption(true, 0);
                client.Client.Close();
                break;
            case FaultKind.Stall:
                // Say nothing until the client gives up and closes (the read ends), or the hub stops.
                int ignored = await stream.ReadAsync(new byte[1], _stop.Token);
                break;
        }
    }

    private static Dictionary<string, string> Metadata(HostedFile file) => new(StringComparer.OrdinalIgnoreCase)
    {
        ["X-Repo-Commit"] = file.Commit,
        ["X-Linked-Etag"] = $"\"{file.StatedSha256}\"",
        ["X-Linked-Size"] = file.Content.Length.ToString(CultureInfo.InvariantCulture),
        ["ETag"] = $"\"{file.StatedSha256}\"",
    };

    private async Task WriteHeadAsync(NetworkStream stream, int status, string reason, Dictionary<string, string> headers)
    {
        var head = new StringBuilder();
        head.Append(CultureInfo.InvariantCulture, $"HTTP/1.1 {status} {reason}\r\n");
        foreach ((string name, string value) in headers)
        {
            head.Append(CultureInfo.InvariantCulture, $"{name}: {value}\r\n");
        }

        head.Append("Connection: close\r\n\r\n");
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head.ToString()), _stop.Token);
        await stream.FlushAsync(_stop.Token);
    }

    private static long? RangeStart(Request request) =>
        request.Headers.GetValueOrDefault("Range") is { } r && r.StartsWith("bytes=", StringComparison.Ordinal) && r.EndsWith('-')
            && long.TryParse(r.AsSpan(6, r.Length - 7), NumberStyles.None, CultureInfo.InvariantCulture, out long start)
            ? start
            : null;

    private sealed record Request(string Method, string Path, Dictionary<string, string> Headers);
}
