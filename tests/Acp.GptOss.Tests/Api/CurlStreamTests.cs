using System.Text.Json;
using Acp.GptOss.Tests.Support;

namespace Acp.GptOss.Tests.Api;

/// <summary><c>curl -N</c>, the way people look at a stream by hand: the server-sent events' framing byte for byte.</summary>
public sealed class CurlStreamTests
{
    private const string WeatherCall = "<|channel|>analysis<|message|>Need the weather.<|end|>"
        + "<|start|>assistant<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>{\"city\":\"Paris\"}<|call|>";

    [CurlFact]
    public async Task A_streamed_tool_call_is_data_lines_with_blank_lines_between_and_done_last()
    {
        await using ApiServer api = await ApiServer.StartAsync(new FakeEngine(WeatherCall));
        const string Body = """
            {"model":"gpt-oss","stream":true,"messages":[{"role":"user","content":"Weather in Paris?"}],
             "tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}]}
            """;

        ProcessResult result = await ChildProcess.RunAsync("curl", [
            "-N", "-sS", "--fail-with-body", "-H", $"Authorization: Bearer {ApiServer.Token}", "-H", "Content-Type: application/json", "-d", Body,
            $"{api.BaseUrl}/chat/completions"]);

        Assert.True(result.ExitCode == 0, result.Error + result.Output);
        string stream = result.Output;
        Assert.StartsWith("data: {", stream, StringComparison.Ordinal);
        Assert.EndsWith("\n\ndata: [DONE]\n\n", stream, StringComparison.Ordinal);
        Assert.DoesNotContain("\r", stream, StringComparison.Ordinal);
        string[] events = stream[..^2].Split("\n\n");
        Assert.All(events, e => Assert.Matches("^data: [^\n]+$", e));
        JsonElement[] chunks = [.. events.SkipLast(1).Select(e => JsonDocument.Parse(e["data: ".Length..]).RootElement)];
        JsonElement call = chunks.Select(c => c.GetProperty("choices")[0].GetProperty("delta"))
            .Single(d => d.TryGetProperty("tool_calls", out _)).GetProperty("tool_calls")[0];
        Assert.Equal("get_weather", call.GetProperty("function").GetProperty("name").GetString());
        Assert.Contains("data: {\"id\":", stream, StringComparison.Ordinal);
        Assert.Contains("\"arguments\":\"{\\\"city\\\":\\\"Paris\\\"}\"", stream, StringComparison.Ordinal);
        Assert.Equal("tool_calls", chunks[^1].GetProperty("choices")[0].GetProperty("finish_reason").GetString());
    }
}

/// <summary>A fact that needs curl on PATH; skipped, with the reason, without it.</summary>
internal sealed class CurlFactAttribute : FactAttribute
{
    public CurlFactAttribute()
    {
        bool found = Environment.GetEnvironmentVariable("PATH")?.Split(Path.PathSeparator).Any(d => File.Exists(Path.Combine(d, "curl"))) == true;
        Skip = found ? null : "curl is not on PATH (.ci/run installs it).";
    }
}
