using System.Net;
using System.Net.Http.Headers;
using System.Text;

namespace Acp.GptOss.Tests.Support;

/// <summary>
/// A serving engine in process, below <c>HttpClient</c>: GETs answer canned JSON, POSTs answer a status with an error
/// body or a server-sent event stream the test writes (<see cref="FakeServingEngineStream"/>). Paths it was not told
/// answer 404 with FastAPI's body, as vLLM and SGLang do. Records every request, body included.
/// </summary>
internal sealed class FakeServingEngine : HttpMessageHandler
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, (HttpStatusCode Status, string Body)> _gets = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Queue<Func<HttpResponseMessage>>> _posts = new(StringComparer.Ordinal);
    private readonly List<FakeServingEngineRequest> _requests = [];

    /// <summary>Every request received, in order.</summary>
    public IReadOnlyList<FakeServingEngineRequest> Requests
    {
        get
        {
            lock (_gate)
            {
                return [.. _requests];
            }
        }
    }

    /// <summary>The POSTs received on <paramref name="path"/> (no leading slash).</summary>
    public IReadOnlyList<FakeServingEngineRequest> Posts(string path) => [.. Requests.Where(r => r.Method == "POST" && r.Path == path)];

    /// <summary>GET <paramref name="path"/> (no leading slash) answers <paramref name="json"/>.</summary>
    public FakeServingEngine Get(string path, string json, HttpStatusCode status = HttpStatusCode.OK)
    {
        lock (_gate)
        {
            _gets[path] = (status, json);
        }

        return this;
    }

    /// <summary>The next POST to <paramref name="path"/> gets a stream of events that the test writes.</summary>
    public FakeServingEngineStream Stream(string path)
    {
        var stream = new FakeServingEngineStream();
        Enqueue(path, () =>
        {
            var content = new StreamContent(stream);
            content.Headers.ContentType = new MediaTypeHeaderValue("text/event-stream");
            return new HttpResponseMessage(HttpStatusCode.OK) { Content = content };
        });
        return stream;
    }

    /// <summary>The next POST to <paramref name="path"/> fails with <paramref name="status"/> and <paramref name="json"/>.</summary>
    public void Fail(string path, HttpStatusCode status, string json) =>
        Enqueue(path, () => new HttpResponseMessage(status) { Content = new StringContent(json, Encoding.UTF8, "application/json") });

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        string path = request.RequestUri!.AbsolutePath.TrimStart('/');
        string? body = request.Content is null ? null : await request.Content.ReadAsStringAsync(cancellationToken);
        Func<HttpResponseMessage>? answer = null;
        (HttpStatusCode Status, string Body) canned = default;
        bool found;
        lock (_gate)
        {
            _requests.Add(new FakeServingEngineRequest(request.Method.Method, path, body, request.Headers.Authorization?.ToString()));
            found = request.Method == HttpMethod.Get
                ? _gets.TryGetValue(path, out canned)
                : _posts.TryGetValue(path, out Queue<Func<HttpResponseMessage>>? queue) && queue.TryDequeue(out answer);
        }

        if (!found)
        {
            return new HttpResponseMessage(HttpStatusCode.NotFound) { Content = new StringContent("{\"detail\":\"Not Found\"}", Encoding.UTF8, "application/json") };
        }

        return answer is not null
            ? answer()
            : new HttpResponseMessage(canned.Status) { Content = new StringContent(canned.Body ?? "", Encoding.UTF8, "application/json") };
    }

    private void Enqueue(string path, Func<HttpResponseMessage> answer)
    {
        lock (_gate)
        {
            if (!_posts.TryGetValue(path, out Queue<Func<HttpResponseMessage>>? queue))
            {
                _posts[path] = queue = new Queue<Func<HttpResponseMessage>>();
            }

            queue.Enqueue(answer);
        }
    }
}
