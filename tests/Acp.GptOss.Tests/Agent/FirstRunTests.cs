using System.CommandLine;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.Json;
using Acp.GptOss.Agent.FirstRun;
using Acp.GptOss.Cli;
using Acp.GptOss.Inference;
using Acp.GptOss.Provisioning;
using Acp.GptOss.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace Acp.GptOss.Tests.Agent;

/// <summary>
/// The first run from the chat (docs/models.md §9): no model anywhere, and the first prompt asks whether to download
/// gpt-oss-20b, downloads it from a loopback Hugging Face Hub serving a chain GGUF under that repository and file
/// name, verifies and loads it, then answers; declined, offline, cancelled and resumed, two sessions at once. The
/// engine is built as the CLI builds it, over a home folder of its own.
/// </summary>
public sealed class FirstRunTests : IAsyncLifetime, IDisposable
{
    private const string Answer = "Hello from the download";
    private const string Repository = "ggml-org/gpt-oss-20b-GGUF";
    private const string FileName = "gpt-oss-20b-mxfp4.gguf";
    private static readonly object s_allow = new { outcome = new { outcome = "selected", optionId = "download" } };
    private static readonly object s_deny = new { outcome = new { outcome = "selected", optionId = "not_now" } };

    private readonly TempHome _home = new();
    private FakeHub _hub = null!;

    public async Task InitializeAsync()
    {
        _hub = await FakeHub.StartAsync();
        _home.Variables["HF_ENDPOINT"] = _hub.Endpoint.AbsoluteUri;
    }

    public async Task DisposeAsync()
    {
        await _hub.DisposeAsync();
    }

    public void Dispose() => _home.Dispose();

    private string Blobs => Path.Combine(_home.HuggingFaceCache, "models--ggml-org--gpt-oss-20b-GGUF", "blobs");

    [ModelFact]
    public async Task Allowed_the_download_shows_its_progress_then_the_model_answers_the_prompt()
    {
        HostedFile file = HostModel();
        await using DownloadableInferenceEngine engine = CreateEngine();
        await using var agent = new AgentHarness(engine);
        string session = await agent.NewSessionAsync();

        var (response, notifications, requests) = await agent.PromptAnsweringAsync(session, "Say hello.", _ => s_allow);

        Assert.Equal("end_turn", Updates.StopReason(response));
        JsonElement permission = Assert.Single(requests, r => r.GetProperty("method").GetString() == "session/request_permission");
        JsonElement asked = permission.GetProperty("params").GetProperty("toolCall");
        string question = ContentText(asked);
        Assert.Contains(Repository, question, StringComparison.Ordinal);
        Assert.Contains(FileName, question, StringComparison.Ordinal);
        Assert.Contains(DownloadText.Bytes(file.Content.Length), question, StringComparison.Ordinal);
        Assert.Contains(_home.HuggingFaceCache, question, StringComparison.Ordinal);
        Assert.Equal("fetch", asked.GetProperty("kind").GetString());
        Assert.Equal(
            ["download", "not_now"],
            permission.GetProperty("params").GetProperty("options").EnumerateArray().Select(o => o.GetProperty("optionId").GetString()));

        JsonElement start = Assert.Single(Updates.OfKind(notifications, "tool_call"));
        string id = start.GetProperty("toolCallId").GetString()!;
        Assert.Equal("fetch", start.GetProperty("kind").GetString());
        List<JsonElement> progress = [.. Updates.OfKind(notifications, "tool_call_update").Where(u => u.GetProperty("toolCallId").GetString() == id)];
        Assert.Equal("in_progress", progress[0].GetProperty("status").GetString());
        List<string> lines = [.. progress.Where(u => u.TryGetProperty("content", out _)).Select(ContentText)];
        string total = DownloadText.Bytes(file.Content.Length);
        Assert.Contains(lines, l => l.StartsWith($"Downloading {Repository}/{FileName}: ", StringComparison.Ordinal) && l.Contains($"of {total}", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains($"{total} of {total} (100%)", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("verified (sha256)", StringComparison.Ordinal));
        Assert.Equal("completed", progress[^1].GetProperty("status").GetString());

        // The answer comes after the download's last update, and is the model's.
        Assert.Equal(Answer, Updates.Text(notifications, "agent_message_chunk"));
        int lastProgress = notifications.FindLastIndex(n => Updates.Kind(n) == "tool_call_update");
        Assert.True(lastProgress < notifications.FindIndex(n => Updates.Kind(n) == "agent_message_chunk"));

        Assert.Equal(file.Sha256, Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(Path.Combine(Blobs, file.Sha256)))));
        Assert.Single(_hub.ContentRequests);

        // The next prompt runs on the model at once.
        var (again, againNotifications, againRequests) = await agent.PromptAnsweringAsync(session, "Again.", _ => s_allow);
        Assert.Equal("end_turn", Updates.StopReason(again));
        Assert.Empty(againRequests);
        Assert.Empty(Updates.OfKind(againNotifications, "tool_call"));
        Assert.Equal(Answer, Updates.Text(againNotifications, "agent_message_chunk"));
    }

    [Fact]
    public async Task Declined_nothing_is_downloaded_and_the_user_is_told_what_to_do_instead()
    {
        _hub.Add(Repository, FileName, FakeHub.RandomContent(4096, seed: 1));
        await using DownloadableInferenceEngine engine = CreateEngine();
        await using var agent = new AgentHarness(engine);
        string session = await agent.NewSessionAsync();

        var (response, notifications, requests) = await agent.PromptAnsweringAsync(session, "Say hello.", _ => s_deny);

        Assert.Equal("end_turn", Updates.StopReason(response));
        Assert.Single(requests, r => r.GetProperty("method").GetString() == "session/request_permission");
        AssertGuidance(Updates.Text(notifications, "agent_message_chunk"));
        Assert.Equal("failed", Updates.OfKind(notifications, "tool_call_update").Last().GetProperty("status").GetString());
        Assert.Empty(_hub.ContentRequests);
        Assert.False(Directory.Exists(Blobs) && Directory.EnumerateFiles(Blobs).Any());

        // Declined is not forever: the next prompt asks again.
        var (_, _, again) = await agent.PromptAnsweringAsync(session, "Say hello.", _ => s_deny);
        Assert.Single(again, r => r.GetProperty("method").GetString() == "session/request_permission");
    }

    [Fact]
    public async Task Offline_the_guidance_comes_at_once_without_a_question_or_a_request()
    {
        _hub.Add(Repository, FileName, FakeHub.RandomContent(4096, seed: 1));
        _home.Variables["HF_HUB_OFFLINE"] = "1";
        await using DownloadableInferenceEngine engine = CreateEngine();
        await using var agent = new AgentHarness(engine);
        string session = await agent.NewSessionAsync();

        var (response, notifications, requests) = await agent.PromptAnsweringAsync(session, "Say hello.", _ => s_allow);

        Assert.Equal("end_turn", Updates.StopReason(response));
        Assert.Empty(requests);
        Assert.Empty(Updates.OfKind(notifications, "tool_call"));
        string text = Updates.Text(notifications, "agent_message_chunk");
        Assert.Contains("HF_HUB_OFFLINE", text, StringComparison.Ordinal);
        AssertGuidance(text);
        Assert.Empty(_hub.Requests);
    }

    [Fact]
    public async Task A_hub_that_cannot_be_reached_gets_the_guidance_at_once_without_a_question()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        _home.Variables["HF_ENDPOINT"] = $"http://127.0.0.1:{port}";
        await using DownloadableInferenceEngine engine = CreateEngine();
        await using var agent = new AgentHarness(engine);
        string session = await agent.NewSessionAsync();

        var (response, notifications, requests) = await agent.PromptAnsweringAsync(session, "Say hello.", _ => s_allow);

        Assert.Equal("end_turn", Updates.StopReason(response));
        Assert.Empty(requests);
        string text = Updates.Text(notifications, "agent_message_chunk");
        Assert.Contains("cannot be reached", text, StringComparison.Ordinal);
        AssertGuidance(text);
    }

    [ModelFact]
    public async Task Cancelled_mid_download_the_partial_file_stays_and_the_next_prompt_asks_again_and_resumes()
    {
        HostedFile file = HostModel();
        const int Paused = 1_000_000;
        var resume = new TaskCompletionSource();
        _hub.Enqueue(new Fault(FaultKind.Pause, Paused, resume.Task));
        await using DownloadableInferenceEngine engine = CreateEngine();
        await using var agent = new AgentHarness(engine);
        string session = await agent.NewSessionAsync();
        string pausedLine = $"{DownloadText.Bytes(Paused)} of {DownloadText.Bytes(file.Content.Length)}";

        int prompt = await agent.SendPromptAsync(session, "Say hello.");
        await agent.AnswerAsync(await agent.NextRequestAsync(), s_allow);
        await ReadUntilAsync(agent, line => IsUpdate(line, session, "tool_call_update") && ContentText(Updates.Update(line)).Contains(pausedLine, StringComparison.Ordinal));
        await agent.NotifyAsync("session/cancel", new { sessionId = session });
        var (response, notifications) = await agent.ResponseAsync(prompt);

        Assert.Equal("cancelled", Updates.StopReason(response));
        JsonElement last = Updates.OfKind(notifications, "tool_call_update").Last();
        Assert.Equal("failed", last.GetProperty("status").GetString());
        Assert.Contains("kept", ContentText(last), StringComparison.Ordinal);
        Assert.Equal(Paused, new FileInfo(Path.Combine(Blobs, file.Sha256 + ".incomplete")).Length);

        var (again, againNotifications, requests) = await agent.PromptAnsweringAsync(session, "Say hello.", _ => s_allow);

        Assert.Equal("end_turn", Updates.StopReason(again));
        string question = ContentText(Assert.Single(requests).GetProperty("params").GetProperty("toolCall"));
        Assert.Contains("resumes", question, StringComparison.Ordinal);
        Assert.Equal(Answer, Updates.Text(againNotifications, "agent_message_chunk"));
        Assert.Equal([null, Paused], _hub.ContentRequests.Select(r => r.RangeStart));
        Assert.False(File.Exists(Path.Combine(Blobs, file.Sha256 + ".incomplete")));
    }

    [ModelFact]
    public async Task Two_sessions_share_one_download_and_the_second_is_not_asked()
    {
        HostedFile file = HostModel();
        const int Paused = 1_000_000;
        var resume = new TaskCompletionSource();
        _hub.Enqueue(new Fault(FaultKind.Pause, Paused, resume.Task));
        await using DownloadableInferenceEngine engine = CreateEngine();
        await using var agent = new AgentHarness(engine);
        string first = await agent.NewSessionAsync();
        (JsonElement opened, _) = await agent.RequestAsync("session/new", new { cwd = "/workspace", mcpServers = Array.Empty<object>() });
        string second = opened.GetProperty("result").GetProperty("sessionId").GetString()!;
        string pausedLine = $"{DownloadText.Bytes(Paused)} of {DownloadText.Bytes(file.Content.Length)}";

        int firstPrompt = await agent.SendPromptAsync(first, "Say hello.");
        await agent.AnswerAsync(await agent.NextRequestAsync(), s_allow);
        await ReadUntilAsync(agent, line => IsUpdate(line, first, "tool_call_update") && ContentText(Updates.Update(line)).Contains(pausedLine, StringComparison.Ordinal));
        int secondPrompt = await agent.SendPromptAsync(second, "Say hello.");
        // The second joins the download under way, and hears at once where it stands.
        List<JsonElement> joined = await ReadUntilAsync(
            agent, line => IsUpdate(line, second, "tool_call_update") && ContentText(Updates.Update(line)).Contains(pausedLine, StringComparison.Ordinal));
        resume.SetResult();
        List<JsonElement> rest = await ReadUntilAsync(agent, line => IsResponse(line, firstPrompt) || IsResponse(line, secondPrompt));
        rest.AddRange(await ReadUntilAsync(agent, line => IsResponse(line, firstPrompt) || IsResponse(line, secondPrompt)));
        List<JsonElement> all = [.. joined, .. rest];

        Assert.DoesNotContain(all, line => line.TryGetProperty("method", out JsonElement m) && m.GetString() == "session/request_permission");
        Assert.All(all.Where(l => l.TryGetProperty("id", out _) && !l.TryGetProperty("method", out _)), r => Assert.Equal("end_turn", Updates.StopReason(r)));
        foreach (string session in new[] { first, second })
        {
            List<JsonElement> mine = [.. all.Where(l => IsUpdate(l, session, null))];
            Assert.Equal(Answer, Updates.Text(mine, "agent_message_chunk"));
        }

        Assert.Single(_hub.ContentRequests);
        Assert.Equal(file.Content.Length, _hub.BodyBytes);
    }

    [ModelFact]
    public async Task A_session_that_joined_the_download_cancels_alone_and_the_download_goes_on_for_the_other()
    {
        HostedFile file = HostModel();
        const int Paused = 1_000_000;
        var resume = new TaskCompletionSource();
        _hub.Enqueue(new Fault(FaultKind.Pause, Paused, resume.Task));
        await using DownloadableInferenceEngine engine = CreateEngine();
        await using var agent = new AgentHarness(engine);
        string first = await agent.NewSessionAsync();
        (JsonElement opened, _) = await agent.RequestAsync("session/new", new { cwd = "/workspace", mcpServers = Array.Empty<object>() });
        string second = opened.GetProperty("result").GetProperty("sessionId").GetString()!;
        string pausedLine = $"{DownloadText.Bytes(Paused)} of {DownloadText.Bytes(file.Content.Length)}";

        int firstPrompt = await agent.SendPromptAsync(first, "Say hello.");
        await agent.AnswerAsync(await agent.NextRequestAsync(), s_allow);
        await ReadUntilAsync(agent, line => IsUpdate(line, first, "tool_call_update") && ContentText(Updates.Update(line)).Contains(pausedLine, StringComparison.Ordinal));
        int secondPrompt = await agent.SendPromptAsync(second, "Say hello.");
        await ReadUntilAsync(agent, line => IsUpdate(line, second, "tool_call_update") && ContentText(Updates.Update(line)).Contains(pausedLine, StringComparison.Ordinal));
        await agent.NotifyAsync("session/cancel", new { sessionId = second });
        List<JsonElement> cancelled = await ReadUntilAsync(agent, line => IsResponse(line, secondPrompt));
        resume.SetResult();
        List<JsonElement> rest = await ReadUntilAsync(agent, line => IsResponse(line, firstPrompt));

        Assert.Equal("cancelled", Updates.StopReason(cancelled[^1]));
        Assert.Equal("end_turn", Updates.StopReason(rest[^1]));
        Assert.Equal(Answer, Updates.Text([.. rest.Where(l => IsUpdate(l, first, null))], "agent_message_chunk"));
        Assert.Single(_hub.ContentRequests);
    }

    [Fact]
    public async Task A_download_that_fails_verification_fails_the_tool_call_and_gives_the_guidance()
    {
        _hub.Add(Repository, FileName, FakeHub.RandomContent(100_000, seed: 2), statedSha256: new string('a', 64));
        await using DownloadableInferenceEngine engine = CreateEngine();
        await using var agent = new AgentHarness(engine);
        string session = await agent.NewSessionAsync();

        var (response, notifications, _) = await agent.PromptAnsweringAsync(session, "Say hello.", _ => s_allow);

        Assert.Equal("end_turn", Updates.StopReason(response));
        JsonElement last = Updates.OfKind(notifications, "tool_call_update").Last();
        Assert.Equal("failed", last.GetProperty("status").GetString());
        Assert.Contains("sha256", ContentText(last), StringComparison.Ordinal);
        string text = Updates.Text(notifications, "agent_message_chunk");
        Assert.Contains("could not be downloaded", text, StringComparison.Ordinal);
        AssertGuidance(text);
        Assert.False(File.Exists(Path.Combine(Blobs, new string('a', 64))));
    }

    [ModelFact]
    public async Task The_built_agent_with_no_model_anywhere_offers_the_download_and_answers()
    {
        HostModel();
        Dictionary<string, string> environment = _home.ProcessEnvironment(_hub.Endpoint);
        environment["LLAMA_CACHE"] = "";
        environment["XDG_STATE_HOME"] = Path.Combine(_home.Root, "state");
        await using AgentHarness agent = AgentHarness.StartProcess(environment, "--temperature", "0", "--ctx-size", "2048", "--threads", "2");
        string session = await agent.NewSessionAsync();

        var (response, notifications, requests) = await agent.PromptAnsweringAsync(session, "Say hello.", _ => s_allow);

        Assert.Equal("end_turn", Updates.StopReason(response));
        Assert.Single(requests, r => r.GetProperty("method").GetString() == "session/request_permission");
        Assert.Equal("completed", Updates.OfKind(notifications, "tool_call_update").Last().GetProperty("status").GetString());
        Assert.Equal(Answer, Updates.Text(notifications, "agent_message_chunk"));
    }

    private HostedFile HostModel() =>
        _hub.Add(Repository, FileName, File.ReadAllBytes(TestModels.Chain($"<|channel|>final<|message|>{Answer}<|return|>")));

    // As the CLI builds it when no model is found: the same options, greedy sampling for the chain model.
    private DownloadableInferenceEngine CreateEngine()
    {
        var line = new AgentCommandLine();
        var command = new RootCommand();
        line.AddTo(command, withEngine: true);
        ParseResult parsed = command.Parse(["--temperature", "0", "--ctx-size", "2048", "--threads", "2"]);
        return line.Downloadable(parsed, _home.Environment, new Telemetry(NullLogger.Instance), NullLoggerFactory.Instance);
    }

    private void AssertGuidance(string text)
    {
        Assert.Contains("acp-gptoss models pull gpt-oss-20b", text, StringComparison.Ordinal);
        Assert.Contains(Path.Combine(_home.ConfigDirectory, "config.json"), text, StringComparison.Ordinal);
        Assert.Contains(Path.Combine(_home.Home, "models"), text, StringComparison.Ordinal);
    }

    private static string ContentText(JsonElement toolCall) =>
        !toolCall.TryGetProperty("content", out JsonElement content) ? ""
        : string.Concat(content.EnumerateArray().Select(c => c.GetProperty("content").GetProperty("text").GetString()));

    private static bool IsUpdate(JsonElement line, string session, string? kind) =>
        line.TryGetProperty("method", out JsonElement method) && method.GetString() == "session/update"
        && line.GetProperty("params").GetProperty("sessionId").GetString() == session
        && (kind is null || Updates.Kind(line) == kind);

    private static bool IsResponse(JsonElement line, int id) =>
        !line.TryGetProperty("method", out _) && line.TryGetProperty("id", out JsonElement lineId) && lineId.ValueKind == JsonValueKind.Number && lineId.GetInt32() == id;

    // Reads lines until one matches, answering any request (a permission) with allow; returns them all, the match last.
    private static async Task<List<JsonElement>> ReadUntilAsync(AgentHarness agent, Func<JsonElement, bool> match)
    {
        var lines = new List<JsonElement>();
        while (true)
        {
            JsonElement line = await agent.NextAsync();
            lines.Add(line);
            if (match(line))
            {
                return lines;
            }

            if (line.TryGetProperty("method", out _) && line.TryGetProperty("id", out _))
            {
                await agent.AnswerAsync(line, s_allow);
            }
        }
    }
}
