using Acp.GptOss.Tests.Support;
using Xunit.Abstractions;

namespace Acp.GptOss.Tests.Clients;

/// <summary>
/// The first run through acpx (docs/models.md §9): the built agent with no model anywhere, a loopback Hugging Face
/// Hub serving a chain GGUF as ggml-org/gpt-oss-20b-GGUF; acpx allows the download, and the model answers.
/// </summary>
public sealed class AcpxFirstRunTests(ITestOutputHelper output) : IAsyncLifetime, IDisposable
{
    private const string Answer = "Hello from the download";

    private readonly Acpx _acpx = new();
    private FakeHub _hub = null!;

    public async Task InitializeAsync() => _hub = await FakeHub.StartAsync();

    public async Task DisposeAsync() => await _hub.DisposeAsync();

    public void Dispose() => _acpx.Dispose();

    [ClientsFact]
    public async Task Acpx_allows_the_download_and_gets_the_models_answer()
    {
        Assert.Null(TestModels.Missing);
        _hub.Add("ggml-org/gpt-oss-20b-GGUF", "gpt-oss-20b-mxfp4.gguf", File.ReadAllBytes(TestModels.Chain($"<|channel|>final<|message|>{Answer}<|return|>")));
        Dictionary<string, string> environment = _acpx.Environment();
        // acpx's home is the agent's: nothing there, so no model is found.
        environment["XDG_CONFIG_HOME"] = Path.Combine(_acpx.Home, ".config");
        environment["XDG_CACHE_HOME"] = "";
        environment["XDG_STATE_HOME"] = Path.Combine(_acpx.Home, ".state");
        environment["HF_HOME"] = "";
        environment["HF_HUB_CACHE"] = Path.Combine(_acpx.Home, "hf");
        environment["HUGGINGFACE_HUB_CACHE"] = "";
        environment["HF_ENDPOINT"] = _hub.Endpoint.AbsoluteUri;
        environment["HF_TOKEN"] = "";
        environment["HF_HUB_OFFLINE"] = "";
        environment["LLAMA_CACHE"] = "";
        environment["GPT_OSS_GGUF_PATH"] = "";
        string agent = string.Join(' ', ["dotnet", Repository.Agent, "--temperature", "0", "--ctx-size", "2048", "--threads", "2"]);

        ProcessResult result = await ChildProcess.RunAsync("node", Acpx.Arguments(agent, ["--approve-all", "exec", "Say hello."]), _acpx.Workspace, environment);

        output.WriteLine(result.Output);
        Assert.True(result.ExitCode == 0, result.Output + result.Error);
        Assert.Contains(Answer, result.Output, StringComparison.Ordinal);
        Assert.Contains("Download gpt-oss-20b", result.Output, StringComparison.Ordinal);
        Assert.Single(_hub.ContentRequests);
    }
}
