using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Acp.GptOss.Tests.Support;

namespace Acp.GptOss.Tests.Api;

/// <summary>The API from the published NativeAOT executable: trimming and AOT break JSON only at run time.</summary>
public sealed partial class ApiNativeTests : IDisposable
{
    private readonly string _workspace = Directory.CreateTempSubdirectory("api-native-").FullName;

    public void Dispose() => Directory.Delete(_workspace, recursive: true);

    [NativeFact]
    public async Task The_native_relay_answers_models_a_chat_completion_a_stream_and_an_error()
    {
        string script = Path.Combine(_workspace, "answer.txt");
        await File.WriteAllTextAsync(script, "<|channel|>analysis<|message|>Think.<|end|><|start|>assistant<|channel|>final<|message|>Native \"hello\".<|return|>");
        const string Token = "native-api-token";
        await using ChildProcess relay = ChildProcess.Start(
            Repository.NativeAgent!, ["relay", "--listen", "127.0.0.1:0", "--engine", "script", "--script", script],
            environment: new Dictionary<string, string> { ["ACP_GPTOSS_RELAY_TOKEN"] = Token, ["XDG_CONFIG_HOME"] = _workspace });
        var address = new Uri(ListeningUrl().Match(await relay.WaitForErrorLineAsync(l => ListeningUrl().IsMatch(l))).Groups["url"].Value);
        using var http = new HttpClient { Timeout = AgentHarness.Timeout };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        const string Chat = """{"model":"gpt-oss","messages":[{"role":"user","content":"Hi"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{}}}}]}""";

        JsonElement models = JsonDocument.Parse(await http.GetStringAsync(new Uri(address, "/v1/models"))).RootElement;
        using HttpResponseMessage whole = await http.PostAsync(new Uri(address, "/v1/chat/completions"), new StringContent(Chat, Encoding.UTF8, "application/json"));
        JsonElement message = JsonDocument.Parse(await whole.Content.ReadAsStringAsync()).RootElement.GetProperty("choices")[0].GetProperty("message");
        using HttpResponseMessage streamed = await http.PostAsync(
            new Uri(address, "/v1/chat/completions"), new StringContent(Chat.Replace("{\"model\"", "{\"stream\":true,\"model\"", StringComparison.Ordinal), Encoding.UTF8, "application/json"));
        List<string> events = await ChatCompletionsTests.EventsAsync(streamed);
        using HttpResponseMessage bad = await http.PostAsync(new Uri(address, "/v1/chat/completions"), new StringContent("""{"model":"gpt-oss","messages":[{"role":"x"}]}"""));

        Assert.Equal("gpt-oss", models.GetProperty("data")[0].GetProperty("id").GetString());
        Assert.Equal("Native \"hello\".", message.GetProperty("content").GetString());
        Assert.Equal("Think.", message.GetProperty("reasoning_content").GetString());
        Assert.Equal("[DONE]", events[^1]);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal("messages[0].role", JsonDocument.Parse(await bad.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("param").GetString());
        Assert.Contains("acp_gptoss_api_requests_total", await http.GetStringAsync(new Uri(address, "/metrics")), StringComparison.Ordinal);
    }

    [GeneratedRegex(@"Relay listening on (?<url>http://\S+?)/?$")]
    private static partial Regex ListeningUrl();
}
