using Acp.GptOss.Inference;
using Acp.GptOss.Models;
using Acp.GptOss.Provisioning;
using Acp.GptOss.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace Acp.GptOss.Tests.Provisioning;

/// <summary><c>/download</c>'s downloader against a loopback Hugging Face Hub: the file lands in the cache, verified.</summary>
public sealed class HubModelPullerTests : IAsyncLifetime, IDisposable
{
    private const string Repository = "ggml-org/gpt-oss-20b-GGUF";
    private const string FileName = "gpt-oss-20b-mxfp4.gguf";

    private readonly TempHome _home = new();
    private FakeHub _hub = null!;

    public async Task InitializeAsync()
    {
        _hub = await FakeHub.StartAsync();
        _home.Variables["HF_ENDPOINT"] = _hub.Endpoint.AbsoluteUri;
    }

    public async Task DisposeAsync() => await _hub.DisposeAsync();

    public void Dispose() => _home.Dispose();

    private HubModelPuller Create() => new(_home.Environment, new DownloadOptions { MaxAttempts = 1 }, NullLogger.Instance);

    [Fact]
    public async Task Pulls_a_short_name_into_the_cache_verified_and_returns_its_path()
    {
        HostedFile file = _hub.Add(Repository, FileName, FakeHub.RandomContent(300_000, seed: 3));
        var reports = new List<ModelDownloadProgress>();

        string path = await Create().PullAsync("gpt-oss-20b", p => { lock (reports) { reports.Add(p); } }, CancellationToken.None);

        Assert.StartsWith(_home.HuggingFaceCache, path, StringComparison.Ordinal);
        Assert.EndsWith(FileName, path, StringComparison.Ordinal);
        Assert.Equal(file.Content, await File.ReadAllBytesAsync(path));
        Assert.Equal(ModelDownloadPhase.Downloading, reports[0].Phase);
        Assert.Equal(new ModelDownloadProgress(ModelDownloadPhase.Verified, file.Content.Length, file.Content.Length, 0), reports[^1]);
    }

    [Fact]
    public void Describe_names_the_file_or_says_why_not()
    {
        HubModelPuller puller = Create();

        Assert.Equal($"{Repository}/{FileName}", puller.Describe("gpt-oss-20b", out string? none));
        Assert.Null(none);
        Assert.Null(puller.Describe("nonsense", out string? error));
        Assert.False(string.IsNullOrWhiteSpace(error));
    }

    [Fact]
    public async Task A_bad_spec_throws_with_the_reason_and_requests_nothing()
    {
        var e = await Assert.ThrowsAsync<ArgumentException>(() => Create().PullAsync("nonsense", _ => { }, CancellationToken.None));

        Assert.Contains("nonsense", e.Message, StringComparison.Ordinal);
        Assert.Empty(_hub.Requests);
    }

    [Fact]
    public async Task A_file_the_hub_does_not_have_is_an_inference_exception()
    {
        await Assert.ThrowsAsync<InferenceException>(() => Create().PullAsync("org/repo/missing.gguf", _ => { }, CancellationToken.None));
    }
}
