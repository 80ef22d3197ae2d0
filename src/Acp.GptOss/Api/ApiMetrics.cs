using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Acp.GptOss.Completions;
using Acp.GptOss.Inference;

namespace Acp.GptOss.Api;

/// <summary>
/// What <c>/metrics</c> reports, in Prometheus' text format: the API's requests, generations, tokens, time to first
/// token and decode time; the engines' own figures from their telemetry (every session's, the agent's included); and
/// each model's state.
/// </summary>
/// <remarks>Thread-safe.</remarks>
internal sealed class ApiMetrics : IDisposable
{
    // Seconds: what a person notices, from a loaded model's first token to a cold load's.
    private static readonly double[] s_firstTokenBuckets = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

    private readonly ConcurrentDictionary<(string Endpoint, int Status), long> _requests = new();
    private readonly ConcurrentDictionary<string, long> _generations = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, double> _decodeRate = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, double> _prefillRate = new(StringComparer.Ordinal);
    private readonly long[] _firstTokenCounts = new long[s_firstTokenBuckets.Length + 1];
    private readonly Lock _gate = new();
    private readonly IDisposable _subscription;
    private double _firstTokenSum;
    private long _promptTokens;
    private long _completionTokens;
    private long _decodeTokens;
    private double _decodeSeconds;

    public ApiMetrics(Telemetry telemetry)
    {
        _subscription = telemetry.Subscribe(OnTelemetry);
    }

    public void RecordRequest(string endpoint, int status) => _requests.AddOrUpdate((endpoint, status), 1, (_, n) => n + 1);

    /// <summary>A generation ended.</summary>
    /// <param name="reason">Its finish reason, or null when the engine failed.</param>
    /// <param name="usage">Its tokens, when it ran.</param>
    /// <param name="firstToken">From the request to the first text or call, if one came.</param>
    /// <param name="decode">From that first one to the end.</param>
    public void RecordGeneration(CompletionFinishReason? reason, CompletionUsage? usage, TimeSpan? firstToken, TimeSpan decode)
    {
        _generations.AddOrUpdate(reason is { } r ? ApiNames.FinishReason(r) : "error", 1, (_, n) => n + 1);
        lock (_gate)
        {
            if (usage is not null)
            {
                _promptTokens += usage.PromptTokens;
                _completionTokens += usage.CompletionTokens;
            }

            if (firstToken is { } first)
            {
                double seconds = first.TotalSeconds;
                _firstTokenSum += seconds;
                int bucket = Array.FindIndex(s_firstTokenBuckets, b => seconds <= b);
                _firstTokenCounts[bucket < 0 ? s_firstTokenBuckets.Length : bucket]++;
                if (usage is { CompletionTokens: > 1 })
                {
                    _decodeTokens += usage.CompletionTokens - 1;
                    _decodeSeconds += decode.TotalSeconds;
                }
            }
        }
    }

    /// <summary>Writes every metric.</summary>
    public void WriteTo(StringBuilder text, IEnumerable<IModel> models, IGenerationSlots slots)
    {
        Header(text, "acp_gptoss_api_requests_total", "counter", "API requests answered, by endpoint and HTTP status.");
        foreach (((string endpoint, int status), long count) in _requests.OrderBy(r => r.Key.Endpoint, StringComparer.Ordinal).ThenBy(r => r.Key.Status))
        {
            Line(text, $"acp_gptoss_api_requests_total{{endpoint=\"{endpoint}\",status=\"{status}\"}}", count);
        }

        Header(text, "acp_gptoss_api_generations_total", "counter", "API generations ended, by finish reason (cancelled: the client went away; error: the engine failed).");
        foreach ((string reason, long count) in _generations.OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            Line(text, $"acp_gptoss_api_generations_total{{finish_reason=\"{reason}\"}}", count);
        }

        Header(text, "acp_gptoss_api_generations_running", "gauge", "API generations running now.");
        Line(text, "acp_gptoss_api_generations_running", slots.Running);
        Header(text, "acp_gptoss_api_generations_waiting", "gauge", "API requests waiting for a generation slot now.");
        Line(text, "acp_gptoss_api_generations_waiting", slots.Waiting);

        lock (_gate)
        {
            Header(text, "acp_gptoss_api_prompt_tokens_total", "counter", "Prompt tokens of API generations.");
            Line(text, "acp_gptoss_api_prompt_tokens_total", _promptTokens);
            Header(text, "acp_gptoss_api_completion_tokens_total", "counter", "Tokens API generations generated.");
            Line(text, "acp_gptoss_api_completion_tokens_total", _completionTokens);

            Header(text, "acp_gptoss_api_time_to_first_token_seconds", "histogram", "From an API request to its first text or tool call.");
            long cumulative = 0;
            for (int i = 0; i < s_firstTokenBuckets.Length; i++)
            {
                cumulative += _firstTokenCounts[i];
                Line(text, $"acp_gptoss_api_time_to_first_token_seconds_bucket{{le=\"{Number(s_firstTokenBuckets[i])}\"}}", cumulative);
            }

            cumulative += _firstTokenCounts[^1];
            Line(text, "acp_gptoss_api_time_to_first_token_seconds_bucket{le=\"+Inf\"}", cumulative);
            Line(text, "acp_gptoss_api_time_to_first_token_seconds_sum", _firstTokenSum);
            Line(text, "acp_gptoss_api_time_to_first_token_seconds_count", cumulative);

            Header(text, "acp_gptoss_api_decode_tokens_total", "counter", "Tokens API generations generated after their first text: divided by the seconds below, the decode rate.");
            Line(text, "acp_gptoss_api_decode_tokens_total", _decodeTokens);
            Header(text, "acp_gptoss_api_decode_seconds_total", "counter", "Seconds API generations spent after their first text.");
            Line(text, "acp_gptoss_api_decode_seconds_total", _decodeSeconds);
        }

        Header(text, "acp_gptoss_inference_decode_tokens_per_second", "gauge", "The engine's decode rate in its last generation (any session), by model.");
        foreach ((string model, double rate) in _decodeRate.OrderBy(r => r.Key, StringComparer.Ordinal))
        {
            Line(text, $"acp_gptoss_inference_decode_tokens_per_second{{model=\"{model}\"}}", rate);
        }

        Header(text, "acp_gptoss_inference_prefill_tokens_per_second", "gauge", "The engine's prefill rate in its last generation that prefilled, by model.");
        foreach ((string model, double rate) in _prefillRate.OrderBy(r => r.Key, StringComparer.Ordinal))
        {
            Line(text, $"acp_gptoss_inference_prefill_tokens_per_second{{model=\"{model}\"}}", rate);
        }

        Header(text, "acp_gptoss_model_state", "gauge", "1 for each model's state now (notLoaded, loading, ready, error), 0 for the others.");
        ModelStatus[] statuses = [.. models.Select(m => m.GetStatus())];
        foreach (ModelStatus status in statuses)
        {
            foreach (ModelState state in Enum.GetValues<ModelState>())
            {
                Line(text, $"acp_gptoss_model_state{{model=\"{status.Role.WireName()}\",state=\"{ApiNames.State(state)}\"}}", status.State == state ? 1 : 0);
            }
        }

        Header(text, "acp_gptoss_model_load_progress", "gauge", "How far each model's load is, 0 to 1.");
        foreach (ModelStatus status in statuses)
        {
            Line(text, $"acp_gptoss_model_load_progress{{model=\"{status.Role.WireName()}\"}}", status.State == ModelState.Ready ? 1 : status.LoadProgress);
        }
    }

    public void Dispose() => _subscription.Dispose();

    private void OnTelemetry(TelemetryEvent e)
    {
        if (e is InferenceEvent inference)
        {
            string model = inference.Model.WireName();
            if (inference.DecodeTokensPerSecond is { } decode)
            {
                _decodeRate[model] = decode;
            }

            if (inference.PrefillTokensPerSecond is { } prefill)
            {
                _prefillRate[model] = prefill;
            }
        }
    }

    private static void Header(StringBuilder text, string name, string type, string help) =>
        text.Append("# HELP ").Append(name).Append(' ').Append(help).Append('\n').Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');

    private static void Line(StringBuilder text, string series, double value) => text.Append(series).Append(' ').Append(Number(value)).Append('\n');

    private static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
