using System.Text.Json;
using Acp.GptOss.Agent;
using Acp.GptOss.Inference;
using Acp.GptOss.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace Acp.GptOss.Tests.Agent;

/// <summary>
/// <c>/download</c> (docs/acp.md §4.5): a fetch tool call that follows the download's progress, then where the file
/// is and how to use it; a bad spec is a usage line, a failure fails the tool call, a cancel ends at once. The
/// downloader is a fake: the real one is <c>models pull</c>'s, tested there.
/// </summary>
public sealed class DownloadCommandTests
{
    private const string Answer = "<|channel|>final<|message|>Short answer.<|return|>";
    private const string File20b = "ggml-org/gpt-oss-20b-GGUF/gpt-oss-20b-mxfp4.gguf";
    private const string CachedPath = "/hf/hub/models--ggml-org--gpt-oss-20b-GGUF/snapshots/abc/gpt-oss-20b-mxfp4.gguf";

    private static readonly ModelDownloadProgress[] s_reports =
    [
        new(ModelDownloadPhase.Downloading, 0, 2_000_000, 0),
        new(ModelDownloadPhase.Downloading, 1_000_000, 2_000_000, 500_000),
        new(ModelDownloadPhase.Verified, 2_000_000, 2_000_000, 0),
    ];

    private static AgentHarness With(FakePuller puller, FakeEngine engine) =>
        new(new AgentEngines(engine, null, new Telemetry(NullLogger.Instance)) { Puller = puller });

    private static string ContentText(JsonElement update) =>
        !update.TryGetProperty("content", out JsonElement content) ? ""
        : string.Concat(content.EnumerateArray().Select(c => c.GetProperty("content").GetProperty("text").GetString()));

    [Fact]
    public async Task Download_is_advertised_only_with_a_puller_valid_against_the_schema()
    {
        await using (AgentHarness without = new(new FakeEngine(Answer)))
        {
            (JsonElement opened, _) = await OpenAsync(without);
            JsonElement commands = Updates.Update(await without.CommandsAfterAsync(opened));
            Assert.DoesNotContain("download", Names(commands));
        }

        await using AgentHarness agent = With(new FakePuller(_ => Task.FromResult(CachedPath)), new FakeEngine(Answer));
        (JsonElement response, _) = await OpenAsync(agent);
        JsonElement listed = Updates.Update(await agent.CommandsAfterAsync(response));
        Assert.Equal("download", Names(listed)[^1]);
        JsonElement download = listed.GetProperty("availableCommands").EnumerateArray().Last();
        Assert.Equal("Download a model into the Hugging Face cache, as `models pull`", download.GetProperty("description").GetString());
        Assert.Equal("gpt-oss-20b | gpt-oss-120b | ORG/REPO/FILE", download.GetProperty("input").GetProperty("hint").GetString());
        await AssertValidAsync(agent);
    }

    [Fact]
    public async Task Download_shows_the_progress_as_a_fetch_tool_call_then_the_path_and_how_to_use_it()
    {
        var engine = new FakeEngine(Answer);
        var puller = new FakePuller(_ => Task.FromResult(CachedPath)) { Reports = s_reports };
        await using AgentHarness agent = With(puller, engine);
        string session = await agent.NewSessionAsync();

        (JsonElement response, List<JsonElement> notifications) = await agent.PromptAsync(session, "/download");

        Assert.Equal("end_turn", Updates.StopReason(response));
        Assert.Equal(["gpt-oss-20b"], puller.Specs);
        Assert.Empty(engine.Prompts);
        JsonElement start = Updates.OfKind(notifications, "tool_call").Single();
        string id = start.GetProperty("toolCallId").GetString()!;
        Assert.Equal("fetch", start.GetProperty("kind").GetString());
        Assert.Equal("in_progress", start.GetProperty("status").GetString());
        Assert.Equal("Download gpt-oss-20b", start.GetProperty("title").GetString());
        JsonElement[] updates = [.. Updates.OfKind(notifications, "tool_call_update")];
        Assert.All(updates, u => Assert.Equal(id, u.GetProperty("toolCallId").GetString()));
        Assert.Equal(4, updates.Length);
        Assert.Equal($"Downloading {File20b}: 0 B of 2.0 MB (0%)", ContentText(updates[0]));
        Assert.Equal($"Downloading {File20b}: 1.0 MB of 2.0 MB (50%), 500.0 kB/s, 2 s left", ContentText(updates[1]));
        Assert.Equal("Downloaded 2.0 MB and verified (sha256).", ContentText(updates[2]));
        Assert.Equal("completed", updates[3].GetProperty("status").GetString());
        Assert.Contains(CachedPath, ContentText(updates[3]), StringComparison.Ordinal);
        string answer = Updates.Text(notifications, "agent_message_chunk");
        Assert.Contains(File20b, answer, StringComparison.Ordinal);
        Assert.Contains($"--model {CachedPath}", answer, StringComparison.Ordinal);
        Assert.Contains("found automatically at the next start", answer, StringComparison.Ordinal);
        await AssertValidAsync(agent);
    }

    [Fact]
    public async Task Download_takes_the_model_named_after_it()
    {
        var puller = new FakePuller(_ => Task.FromResult("/models/x.gguf"));
        await using AgentHarness agent = With(puller, new FakeEngine(Answer));
        string session = await agent.NewSessionAsync();

        (JsonElement response, List<JsonElement> notifications) = await agent.PromptAsync(session, "/download  org/repo/x.gguf ");

        Assert.Equal("end_turn", Updates.StopReason(response));
        Assert.Equal(["org/repo/x.gguf"], puller.Specs);
        Assert.Equal("Download org/repo/x.gguf", Updates.OfKind(notifications, "tool_call").Single().GetProperty("title").GetString());
    }

    [Fact]
    public async Task A_bad_spec_is_a_usage_line_without_a_tool_call_or_a_download()
    {
        var engine = new FakeEngine(Answer);
        var puller = new FakePuller(_ => Task.FromResult(CachedPath));
        await using AgentHarness agent = With(puller, engine);
        string session = await agent.NewSessionAsync();

        (JsonElement response, List<JsonElement> notifications) = await agent.PromptAsync(session, "/download nonsense");

        Assert.Equal("end_turn", Updates.StopReason(response));
        Assert.Empty(puller.Specs);
        Assert.Empty(Updates.OfKind(notifications, "tool_call"));
        string answer = Updates.Text(notifications, "agent_message_chunk");
        Assert.Equal("Usage: /download gpt-oss-20b|gpt-oss-120b|ORG/REPO/FILE.gguf (not a model: nonsense)", answer);
        Assert.Empty(engine.Prompts);
    }

    [Fact]
    public async Task A_failed_download_fails_the_tool_call_with_the_reason()
    {
        var puller = new FakePuller(_ => Task.FromException<string>(new InferenceException("sha256 mismatch"))) { Reports = s_reports[..2] };
        await using AgentHarness agent = With(puller, new FakeEngine(Answer));
        string session = await agent.NewSessionAsync();

        (JsonElement response, List<JsonElement> notifications) = await agent.PromptAsync(session, "/download gpt-oss-20b");

        Assert.Equal("end_turn", Updates.StopReason(response));
        JsonElement last = Updates.OfKind(notifications, "tool_call_update").Last();
        Assert.Equal("failed", last.GetProperty("status").GetString());
        Assert.Equal("sha256 mismatch", ContentText(last));
        Assert.Equal($"{File20b} could not be downloaded: sha256 mismatch", Updates.Text(notifications, "agent_message_chunk"));
        await AssertValidAsync(agent);
    }

    [Fact]
    public async Task Cancelled_the_turn_ends_at_once_and_says_what_is_kept()
    {
        var puller = new FakePuller(Hang) { Reports = s_reports[..2] };
        await using AgentHarness agent = With(puller, new FakeEngine(Answer));
        string session = await agent.NewSessionAsync();

        int prompt = await agent.SendPromptAsync(session, "/download");
        await puller.Started.Task.WaitAsync(AgentHarness.Timeout);
        await agent.NotifyAsync("session/cancel", new { sessionId = session });
        (JsonElement response, List<JsonElement> notifications) = await agent.ResponseAsync(prompt);

        Assert.Equal("cancelled", Updates.StopReason(response));
        JsonElement last = Updates.OfKind(notifications, "tool_call_update").Last();
        Assert.Equal("failed", last.GetProperty("status").GetString());
        Assert.Equal("Cancelled; the 1.0 MB downloaded so far are kept, and `/download gpt-oss-20b` resumes the download.", ContentText(last));
        Assert.Empty(Updates.OfKind(notifications, "agent_message_chunk"));

        static async Task<string> Hang(CancellationToken cancellationToken)
        {
            var never = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
            await using CancellationTokenRegistration registration = cancellationToken.Register(() => never.TrySetCanceled(cancellationToken));
            return await never.Task;
        }
    }

    private static async Task<(JsonElement Response, List<JsonElement> Notifications)> OpenAsync(AgentHarness agent)
    {
        await agent.RequestAsync("initialize", new { protocolVersion = 1, clientCapabilities = new { } });
        return await agent.RequestAsync("session/new", new { cwd = "/workspace", mcpServers = Array.Empty<object>() });
    }

    private static string[] Names(JsonElement commands) =>
        [.. commands.GetProperty("availableCommands").EnumerateArray().Select(c => c.GetProperty("name").GetString()!)];

    /// <summary>Every session/update the agent wrote passes the ACP SDK's schema.</summary>
    private static async Task AssertValidAsync(AgentHarness agent)
    {
        string traffic = string.Join('\n', agent.Written
            .Where(w => w.TryGetProperty("method", out JsonElement method) && method.GetString() == "session/update")
            .Select(w => w.GetRawText()));
        ProcessResult validation = await AcpValidator.RunAsync(traffic + "\n");
        Assert.True(validation.ExitCode == 0, validation.Output);
    }

    /// <summary>Reports its progress, then ends as it is told; knows the two short names and ORG/REPO/FILE.</summary>
    private sealed class FakePuller(Func<CancellationToken, Task<string>> finish) : IModelPuller
    {
        public IReadOnlyList<ModelDownloadProgress> Reports { get; init; } = [];

        public List<string> Specs { get; } = [];

        public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public string? Describe(string spec, out string? error)
        {
            error = null;
            if (spec == "gpt-oss-20b")
            {
                return File20b;
            }

            if (spec.Split('/') is [_, _, _] && !spec.Contains(' ', StringComparison.Ordinal))
            {
                return spec;
            }

            error = $"not a model: {spec}";
            return null;
        }

        public async Task<string> PullAsync(string spec, Action<ModelDownloadProgress> progress, CancellationToken cancellationToken)
        {
            lock (Specs)
            {
                Specs.Add(spec);
            }

            foreach (ModelDownloadProgress report in Reports)
            {
                progress(report);
            }

            Started.TrySetResult();
            return await finish(cancellationToken);
        }
    }
}
