using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Bench.Shared;
using Harmony.Rendering;
using Harmony.Tokenizers;

namespace Inference.Benchmarks;

/// <summary>
/// The remote engine's overhead (docs/remote.md): one llama-server serving the benchmark model, driven in turn by the
/// whole agent (<c>--engine remote</c>, over stdio, as an editor) and by a plain HTTP client streaming
/// <c>/completion</c> itself: time to the first text and decode rate of each, from alternated runs.
/// </summary>
/// <remarks>
/// The server gets two slots, and picks for each request the one whose cache holds the most of its prompt: the
/// agent's prompt (its instructions and tools) and the plain client's (the question alone) each stay cached in a slot
/// of their own, so that neither pays a prefill the other does not. The first text is the first token after
/// <c>&lt;|message|&gt;</c>: the agent's first <c>agent_message_chunk</c>.
/// </remarks>
internal static class RemoteBench
{
    private const int MessageToken = 200008;

    public static async Task<RemoteResult> RunAsync(BenchModel model, BenchSettings settings, Report report)
    {
        string server = LlamaServerBinary(report);
        int port = FreePort();
        var endpoint = new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}/");
        using Process llama = StartServer(server, model, settings, port);
        using var http = new HttpClient(new SocketsHttpHandler { MaxResponseDrainSize = 0 }) { BaseAddress = endpoint, Timeout = TimeSpan.FromMinutes(5) };
        await WaitHealthyAsync(http, llama);
        report.Line($"llama-server {server} on {endpoint}, 2 slots of {settings.ContextSize} tokens, {settings.Threads} threads");

        O200kHarmonyTokenizer tokenizer = await O200kHarmonyTokenizer.LoadSharedAsync(CancellationToken.None);
        int[] prompt = new HarmonyEncoding(tokenizer).RenderForCompletion(BenchModel.Conversation(BenchModel.Question));
        await using AgentProcess agent = AgentProcess.Start(
            BenchSettings.Agent,
            "--engine", "remote", "--endpoint", endpoint.AbsoluteUri, "--temperature", "0",
            "--max-tokens", settings.Tokens.ToString(CultureInfo.InvariantCulture));
        await agent.InitializeAsync();
        var direct = new List<RemoteRun>();
        var through = new List<RemoteRun>();
        for (int round = 0; round <= settings.Repetitions; round++)
        {
            RemoteRun a = await AgentRunAsync(agent, settings);
            RemoteRun d = await DirectRunAsync(http, prompt, settings);
            if (round > 0)
            {
                through.Add(a);
                direct.Add(d);
                report.Line($"  round {round}: agent first text {a.FirstTextMs:0.0} ms, {a.TokensPerSecond:0.0} tok/s; direct {d.FirstTextMs:0.0} ms, {d.TokensPerSecond:0.0} tok/s");
            }
        }

        llama.Kill(entireProcessTree: true);
        return new RemoteResult(server, through, direct);
    }

    private static async Task<RemoteRun> AgentRunAsync(AgentProcess agent, BenchSettings settings)
    {
        string session = (await agent.NewSessionAsync("/tmp")).Session;
        (int id, long sent) = await agent.PromptAsync(session, BenchModel.Question);
        (JsonElement response, _, List<(long At, AgentLine Line)> updates) = await agent.ResponseAsync(id);
        long[] chunks = [.. updates.Where(u => u.Line.IsChunk).Select(u => u.At)];
        if (AgentProcess.StopReason(response) != "max_tokens" || chunks.Length < 2)
        {
            throw new InvalidOperationException($"The agent ended with {AgentProcess.StopReason(response)} after {chunks.Length} chunks: {response.GetRawText()}");
        }

        return new RemoteRun(
            Stopwatch.GetElapsedTime(sent, chunks[0]).TotalMilliseconds, (chunks.Length - 1) / Stopwatch.GetElapsedTime(chunks[0], chunks[^1]).TotalSeconds, chunks.Length);
    }

    // As a plain client would: the prompt's ids to /completion, streamed, each event parsed for its token; sampled as the
    // agent asks (greedy, and no top-p, top-k or min-p, whose sorting of the vocabulary would cost each token).
    private static async Task<RemoteRun> DirectRunAsync(HttpClient http, int[] prompt, BenchSettings settings)
    {
        string body = JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["prompt"] = prompt, ["n_predict"] = settings.Tokens, ["stream"] = true, ["return_tokens"] = true, ["cache_prompt"] = true,
            ["temperature"] = 0, ["top_p"] = 1.0, ["top_k"] = 0, ["min_p"] = 0,
        });
        long sent = Stopwatch.GetTimestamp();
        using var request = new HttpRequestMessage(HttpMethod.Post, "completion") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        using HttpResponseMessage response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        response.EnsureSuccessStatusCode();
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        long firstText = 0;
        long last = 0;
        int texts = 0;
        bool afterMessage = false;
        while (await reader.ReadLineAsync() is { } line)
        {
            if (!line.StartsWith("data: ", StringComparison.Ordinal))
            {
                continue;
            }

            using JsonDocument e = JsonDocument.Parse(line.AsMemory(6).ToString());
            if (e.RootElement.TryGetProperty("stop", out JsonElement stop) && stop.GetBoolean())
            {
                break;
            }

            foreach (JsonElement token in e.RootElement.GetProperty("tokens").EnumerateArray())
            {
                if (afterMessage)
                {
                    last = Stopwatch.GetTimestamp();
                    firstText = firstText == 0 ? last : firstText;
                    texts++;
                }

                afterMessage |= token.GetInt32() == MessageToken;
            }
        }

        return new RemoteRun(Stopwatch.GetElapsedTime(sent, firstText).TotalMilliseconds, (texts - 1) / Stopwatch.GetElapsedTime(firstText, last).TotalSeconds, texts);
    }

    // ACP_GPTOSS_LLAMA_SERVER, else the build script's cached binary (built on first use).
    private static string LlamaServerBinary(Report report)
    {
        if (Environment.GetEnvironmentVariable("ACP_GPTOSS_LLAMA_SERVER") is { Length: > 0 } path)
        {
            return path;
        }

        string script = Path.Combine(BenchSettings.RepositoryRoot, "tests", "llama-server", "build");
        report.Line($"building or finding llama-server with {script} ...");
        using Process build = Process.Start(new ProcessStartInfo(script) { RedirectStandardOutput = true })!;
        string output = build.StandardOutput.ReadToEnd();
        build.WaitForExit();
        return build.ExitCode == 0 && output.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault() is { } binary
            ? binary.Trim()
            : throw new InvalidOperationException($"{script} failed (exit {build.ExitCode}); set ACP_GPTOSS_LLAMA_SERVER to a llama-server binary.");
    }

    private static Process StartServer(string server, BenchModel model, BenchSettings settings, int port)
    {
        var start = new ProcessStartInfo(server) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (string argument in (string[])[
            "-m", model.Path, "--host", "127.0.0.1", "--port", port.ToString(CultureInfo.InvariantCulture),
            "-c", (settings.ContextSize * 2).ToString(CultureInfo.InvariantCulture), "--parallel", "2",
            "-t", settings.Threads.ToString(CultureInfo.InvariantCulture), "-ngl", "0"])
        {
            start.ArgumentList.Add(argument);
        }

        Process process = Process.Start(start)!;
        // Drained, so that a chatty log never blocks the server.
        process.ErrorDataReceived += (_, _) => { };
        process.OutputDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        return process;
    }

    private static async Task WaitHealthyAsync(HttpClient http, Process server)
    {
        long started = Stopwatch.GetTimestamp();
        while (Stopwatch.GetElapsedTime(started) < TimeSpan.FromMinutes(2))
        {
            if (server.HasExited)
            {
                throw new InvalidOperationException($"llama-server exited with {server.ExitCode}.");
            }

            try
            {
                using HttpResponseMessage health = await http.GetAsync("health");
                if (health.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            await Task.Delay(100);
        }

        throw new InvalidOperationException("llama-server did not become healthy within 2 minutes.");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>One run: from the request to the first text, the decode rate after it, and the text tokens.</summary>
internal sealed record RemoteRun(double FirstTextMs, double TokensPerSecond, int TextTokens);

/// <summary>The runs through the agent and straight to the server, alternated.</summary>
internal sealed record RemoteResult(string Server, IReadOnlyList<RemoteRun> Agent, IReadOnlyList<RemoteRun> Direct)
{
    public double AgentFirstMs => Stats.Median(Agent.Select(r => r.FirstTextMs));

    public double DirectFirstMs => Stats.Median(Direct.Select(r => r.FirstTextMs));

    public double AgentRate => Stats.Median(Agent.Select(r => r.TokensPerSecond));

    public double DirectRate => Stats.Median(Direct.Select(r => r.TokensPerSecond));
}
