using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using Acp.GptOss.Hosting;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;

namespace Acp.GptOss.Models;

/// <summary>A file as the Hub describes it: the commit, the content's sha256 and size, and where its bytes are.</summary>
internal sealed record RemoteFile(HubFile File, string Commit, string Sha256, long Size, Uri Location);

/// <summary>
/// Talks to the Hugging Face Hub (or HF_ENDPOINT) as huggingface_hub does: a HEAD on
/// <c>{endpoint}/{repo}/resolve/{revision}/{file}</c> gives the commit (X-Repo-Commit), the sha256 (X-Linked-Etag,
/// else ETag) and the size (X-Linked-Size, else Content-Length), and usually a redirect to a CDN. Redirects are
/// followed here, by hand, so that HF_TOKEN goes to the Hub's own host only, never to a CDN it redirects to.
/// </summary>
/// <remarks>Thread-safe: no state beyond its settings.</remarks>
internal sealed partial class HubClient
{
    private const int MaxRedirects = 10;

    private readonly HttpClient _http;
    private readonly DownloadOptions _options;
    private readonly ILogger _logger;
    private readonly Lazy<Uri> _endpoint;
    private readonly Lazy<string?> _token;

    public HubClient(HttpClient http, ModelEnvironment environment, DownloadOptions options, ILogger logger)
    {
        _http = http;
        _options = options;
        _logger = logger;
        _endpoint = new Lazy<Uri>(() => environment.HuggingFaceEndpoint);
        _token = new Lazy<string?>(() => environment.HuggingFaceToken);
    }

    /// <summary>An HTTP client for the Hub: no automatic redirects, no decompression, no overall timeout.</summary>
    public static HttpClient CreateHttpClient()
    {
        var handler = new SocketsHttpHandler
        {
            // Redirects are followed by hand: the token must never follow one to another host.
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            ConnectTimeout = TimeSpan.FromSeconds(30),
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        };

        // A 12 GB download takes as long as it takes; a stall is caught per read instead.
        var client = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        client.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("acp-gptoss", AppVersion.Current));
        return client;
    }

    /// <summary>HEAD on the resolve address: what the file is and where its bytes are.</summary>
    /// <exception cref="TransientDownloadException">The Hub could not be reached or answered 5xx: worth another attempt.</exception>
    /// <exception cref="ModelDownloadException">The file does not exist, may not be read, or cannot be verified.</exception>
    public async Task<RemoteFile> ResolveAsync(HubFile file, string revision, CancellationToken cancellationToken)
    {
        string path = string.Join('/', file.FileName.Split('/').Select(Uri.EscapeDataString));
        var url = new Uri($"{_endpoint.Value.AbsoluteUri.TrimEnd('/')}/{file.Repository}/resolve/{Uri.EscapeDataString(revision)}/{path}");
        LogResolving(_logger, url);
        using var watch = new StallWatch(_options.StallTimeout, _options.Time, cancellationToken);
        HttpResponseMessage response;
        try
        {
            // Only relative redirects are followed (a renamed repository); the metadata rides on the one to the CDN.
            response = await SendAsync(HttpMethod.Head, url, 0, followAbsoluteRedirects: false, watch.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException e) when (watch.Stalled && !cancellationToken.IsCancellationRequested)
        {
            throw new TransientDownloadException($"{url.Host} did not answer within {_options.StallTimeout.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s", e);
        }
        catch (HttpRequestException e)
        {
            throw new TransientDownloadException(e.Message, e);
        }

        using (response)
        {
            bool redirect = IsRedirect(response.StatusCode);
            if (!redirect && !response.IsSuccessStatusCode)
            {
                throw Failure(response, file);
            }

            Uri answered = response.RequestMessage?.RequestUri ?? url;
            string commit = Header(response, "X-Repo-Commit")?.ToLowerInvariant() is { } c && HuggingFaceCache.IsCommit(c)
                ? c
                : throw new ModelDownloadException($"{answered} did not say which commit it serves (no X-Repo-Commit header): is HF_ENDPOINT a Hugging Face Hub?");
            string? etag = Header(response, "X-Linked-Etag") ?? Header(response, "ETag");
            string sha256 = Normalize(etag) is { } s && Sha256Pattern().IsMatch(s)
                ? s
                : throw new ModelDownloadException(
                    $"{file.Name}: the server states no sha256 for it (ETag {etag ?? "missing"}), so it could not be verified, and acp-gptoss keeps only verified files.");
            long size = long.TryParse(Header(response, "X-Linked-Size"), NumberStyles.None, CultureInfo.InvariantCulture, out long linked) ? linked
                : !redirect && response.Content.Headers.ContentLength is { } length ? length
                : throw new ModelDownloadException($"{answered} did not say how large {file.Name} is (no X-Linked-Size or Content-Length).");
            Uri location = redirect ? new Uri(answered, response.Headers.Location!) : answered;
            return new RemoteFile(file, commit, sha256, size, location);
        }
    }

    /// <summary>GET from <paramref name="rangeStart"/> on, following every redirect; the token only to the Hub's own host.</summary>
    public Task<HttpResponseMessage> GetAsync(Uri location, long rangeStart, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Get, location, rangeStart, followAbsoluteRedirects: true, cancellationToken);

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, Uri uri, long rangeStart, bool followAbsoluteRedirects, CancellationToken cancellationToken)
    {
        for (int redirects = 0; ; redirects++)
        {
            using var request = new HttpRequestMessage(method, uri);
            request.Headers.AcceptEncoding.Add(new StringWithQualityHeaderValue("identity"));
            if (rangeStart > 0)
            {
                request.Headers.Range = new RangeHeaderValue(rangeStart, null);
            }

            if (_token.Value is { } token && SameOrigin(uri, _endpoint.Value))
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            }

            HttpResponseMessage response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            if (!IsRedirect(response.StatusCode) || response.Headers.Location is not { } location || (location.IsAbsoluteUri && !followAbsoluteRedirects))
            {
                return response;
            }

            response.Dispose();
            if (redirects == MaxRedirects)
            {
                throw new ModelDownloadException($"{uri.GetLeftPart(UriPartial.Path)} redirects more than {MaxRedirects} times.");
            }

            uri = new Uri(uri, location);

            // Signed CDN addresses carry credentials in their query: log the path only.
            string logged = uri.GetLeftPart(UriPartial.Path);
            LogRedirected(_logger, logged);
        }
    }

    /// <summary>What an error status means for <paramref name="file"/>: a transient or a final failure.</summary>
    public Exception Failure(HttpResponseMessage response, HubFile file)
    {
        int status = (int)response.StatusCode;
        string detail = Header(response, "X-Error-Message") is { } message ? $" ({message})" : "";
        string where = $"{file.Name} at revision {file.Revision}";
        return status switch
        {
            408 or 429 or >= 500 => new TransientDownloadException($"HTTP {status} {response.ReasonPhrase} from {response.RequestMessage?.RequestUri?.Host}{detail}"),
            401 when _token.Value is not null => new ModelDownloadException($"{where}: the Hub refused HF_TOKEN, or the repository does not exist{detail}."),
            401 => new ModelDownloadException($"{where}: the repository does not exist, or is private or gated and needs HF_TOKEN (a token from https://huggingface.co/settings/tokens){detail}."),
            403 => new ModelDownloadException($"{where}: access denied{detail}. A gated repository needs its terms accepted on the Hub, and HF_TOKEN set."),
            404 => new ModelDownloadException(Header(response, "X-Error-Code") switch
            {
                "RepoNotFound" => $"{where}: the repository {file.Repository} does not exist{detail}.",
                "RevisionNotFound" => $"{where}: {file.Repository} has no revision {file.Revision}{detail}.",
                "EntryNotFound" => $"{where}: {file.Repository} has no file {file.FileName} at {file.Revision}{detail}.",
                _ => $"{where} was not found{detail}: check the repository, the file name and --revision.",
            }),
            _ => new ModelDownloadException($"{where}: HTTP {status} {response.ReasonPhrase}{detail}."),
        };
    }

    private static bool IsRedirect(HttpStatusCode status) => (int)status is >= 300 and < 400;

    private static bool SameOrigin(Uri a, Uri b) =>
        a.Scheme == b.Scheme && string.Equals(a.Host, b.Host, StringComparison.OrdinalIgnoreCase) && a.Port == b.Port;

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out IEnumerable<string>? values) || response.Content.Headers.TryGetValues(name, out values)
            ? values.FirstOrDefault()
            : null;

    // ETags come as "abc" or W/"abc"; the Hub sends the sha256 of an LFS file this way.
    private static string? Normalize(string? etag) => etag?.Trim() is { } e
        ? (e.StartsWith("W/", StringComparison.Ordinal) ? e[2..] : e).Trim('"').ToLowerInvariant()
        : null;

    [GeneratedRegex("^[0-9a-f]{64}$", RegexOptions.CultureInvariant)]
    private static partial Regex Sha256Pattern();

    [LoggerMessage(Level = LogLevel.Debug, Message = "Resolving {Url}")]
    private static partial void LogResolving(ILogger logger, Uri url);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Redirected to {Url}")]
    private static partial void LogRedirected(ILogger logger, string url);
}
