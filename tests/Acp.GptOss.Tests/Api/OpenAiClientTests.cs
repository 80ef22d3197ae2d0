using System.Text.Json;
using Acp.GptOss.Completions;
using Acp.GptOss.Tests.Support;

namespace Acp.GptOss.Tests.Api;

/// <summary>OpenAI's own Node.js client (the <c>openai</c> npm package, tests/clients) against the API.</summary>
public sealed class OpenAiClientTests : IAsyncLifetime
{
    private const string Answer = "<|channel|>analysis<|message|>Paris, weather.<|end|><|start|>assistant<|channel|>final<|message|>Sunny, 21 °C.<|return|>";
    private const string WeatherCall = "<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>{\"city\":\"Paris\"}<|call|>";

    private ApiServer? _server;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    [OpenAiClientFact]
    public async Task Chat_completions_create_gets_content_reasoning_finish_and_usage()
    {
        JsonElement result = await RunAsync(new FakeEngine(Answer), "chat");

        Assert.Equal("chat.completion", result.GetProperty("object").GetString());
        Assert.Equal("Sunny, 21 °C.", result.GetProperty("content").GetString());
        Assert.Equal("Paris, weather.", result.GetProperty("reasoning").GetString());
        Assert.Equal("stop", result.GetProperty("finish").GetString());
        Assert.True(result.GetProperty("usage").GetProperty("prompt_tokens").GetInt32() > 0);
    }

    [OpenAiClientFact]
    public async Task A_stream_iterated_by_the_client_adds_up_to_the_answer_with_usage_last()
    {
        JsonElement result = await RunAsync(new FakeEngine(Answer), "stream");

        Assert.Equal("Sunny, 21 °C.", result.GetProperty("content").GetString());
        Assert.Equal("Paris, weather.", result.GetProperty("reasoning").GetString());
        Assert.Equal("stop", result.GetProperty("finish").GetString());
        Assert.True(result.GetProperty("usage").GetProperty("completion_tokens").GetInt32() > 0);
        Assert.True(result.GetProperty("chunks").GetInt32() > 5);
    }

    [OpenAiClientFact]
    public async Task A_tool_call_goes_out_and_its_result_comes_back_for_the_answer()
    {
        JsonElement result = await RunAsync(new FakeEngine(WeatherCall, "<|channel|>final<|message|>It is 21 °C.<|return|>"), "tools");

        Assert.Equal("tool_calls", result.GetProperty("finish").GetString());
        Assert.Equal("get_weather", result.GetProperty("name").GetString());
        Assert.Equal("function", result.GetProperty("callType").GetString());
        Assert.Equal("Paris", result.GetProperty("arguments").GetProperty("city").GetString());
        Assert.Equal("It is 21 °C.", result.GetProperty("answer").GetString());
        Assert.Equal("stop", result.GetProperty("secondFinish").GetString());
    }

    [OpenAiClientFact]
    public async Task The_client_s_stream_helper_assembles_a_streamed_tool_call()
    {
        JsonElement result = await RunAsync(new FakeEngine(WeatherCall), "streamTools");

        Assert.Equal("tool_calls", result.GetProperty("finish").GetString());
        Assert.Equal("get_weather", result.GetProperty("name").GetString());
        Assert.Equal("Paris", result.GetProperty("arguments").GetProperty("city").GetString());
    }

    [OpenAiClientFact]
    public async Task Aborting_mid_stream_cancels_the_generation_on_the_server()
    {
        var engine = new FakeEngine("<|channel|>final<|message|>Sunny, and it goes on and on.<|return|>");
        // Held after "Sunny": only a cancelled generation lets go.
        Task held = engine.HoldFirstCallAt(32);

        JsonElement result = await RunAsync(engine, "abort");

        Assert.StartsWith("S", result.GetProperty("received").GetString(), StringComparison.Ordinal);
        Assert.Equal(CompletionFinishReason.Cancelled, await _server!.NextGenerationEndAsync());
        Assert.True(held.IsCompletedSuccessfully);
        string metrics = await _server.MetricsAsync();
        Assert.Contains("acp_gptoss_api_generations_total{finish_reason=\"cancelled\"} 1\n", metrics, StringComparison.Ordinal);
        Assert.Contains("acp_gptoss_api_generations_running 0\n", metrics, StringComparison.Ordinal);
    }

    [OpenAiClientFact]
    public async Task Completions_create_takes_a_raw_harmony_prompt()
    {
        JsonElement result = await RunAsync(new FakeEngine(Answer), "completions");

        Assert.Equal("text_completion", result.GetProperty("object").GetString());
        Assert.Equal(Answer, result.GetProperty("text").GetString());
        Assert.Equal("stop", result.GetProperty("finish").GetString());
    }

    [OpenAiClientFact]
    public async Task An_unknown_model_is_an_api_error_the_client_reads_as_404()
    {
        JsonElement result = await RunAsync(new FakeEngine(Answer), "unknownModel");

        Assert.True(result.GetProperty("thrown").GetBoolean());
        Assert.Equal(404, result.GetProperty("status").GetInt32());
        Assert.Equal("model_not_found", result.GetProperty("code").GetString());
        Assert.Equal("model", result.GetProperty("param").GetString());
    }

    [OpenAiClientFact]
    public async Task Models_list_pages_through_the_served_model()
    {
        JsonElement result = await RunAsync(new FakeEngine(Answer), "models");

        Assert.Equal(["gpt-oss"], result.GetProperty("ids").EnumerateArray().Select(e => e.GetString()));
    }

    private async Task<JsonElement> RunAsync(FakeEngine engine, string scenario)
    {
        _server = await ApiServer.StartAsync(engine);
        ProcessResult result = await ChildProcess.RunAsync(
            "node", [Path.Combine(Repository.ClientsDirectory, "openai-client.mjs"), _server.BaseUrl, ApiServer.Token, scenario], Repository.ClientsDirectory);
        Assert.True(result.ExitCode == 0, $"The client failed ({result.ExitCode}): {result.Error}");
        return JsonDocument.Parse(result.Lines[^1]).RootElement;
    }
}

/// <summary>A fact that needs Node.js and the <c>openai</c> package from tests/clients; skipped, with the reason, without them.</summary>
internal sealed class OpenAiClientFactAttribute : FactAttribute
{
    public OpenAiClientFactAttribute()
    {
        Skip = Repository.ClientsMissing
            ?? (File.Exists(Path.Combine(Repository.ClientsDirectory, "node_modules", "openai", "package.json")) ? null : "npm install in tests/clients did not install openai.");
    }
}
