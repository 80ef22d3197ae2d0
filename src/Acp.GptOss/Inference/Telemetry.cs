using System.Text.Json.Serialization;
using Microsoft.Extensions.Logging;

namespace Acp.GptOss.Inference;

/// <summary>What the engines report as they load models and generate: for logs, and for clients that opt in.</summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "kind")]
[JsonDerivedType(typeof(LoadStageEvent), "load")]
[JsonDerivedType(typeof(InferenceEvent), "inference")]
internal abstract record TelemetryEvent(string Model);

/// <summary>A stage of loading a model: open, preflight, weights mapped, context created, warm; or failed.</summary>
/// <param name="Model">The model's role: gpt-oss or fast.</param>
/// <param name="Stage">The stage reached.</param>
/// <param name="ElapsedMs">Milliseconds since the load began.</param>
/// <param name="Progress">How far loading the weights is, 0 to 1.</param>
/// <param name="Detail">What the stage found: the context size, say, or why loading failed.</param>
internal sealed record LoadStageEvent(string Model, string Stage, double ElapsedMs, double Progress, string? Detail = null) : TelemetryEvent(Model)
{
    public const string Open = "open";
    public const string Preflight = "preflight";
    public const string WeightsMapped = "weights_mapped";
    public const string ContextCreated = "context_created";
    public const string Warm = "warm";
    public const string Failed = "failed";
    public const string Unloaded = "unloaded";
}

/// <summary>One generation: its prefill and decode.</summary>
/// <param name="Model">The model's role.</param>
/// <param name="SessionId">The ACP session.</param>
/// <param name="Outcome">done, cancelled or failed.</param>
/// <param name="PromptTokens">Tokens of the prompt.</param>
/// <param name="ReusedTokens">Of those, the ones already in the KV cache.</param>
/// <param name="PrefilledTokens">Of the rest, the ones decoded: all of them unless cancelled mid-prefill.</param>
/// <param name="PrefillMs">Milliseconds decoding them.</param>
/// <param name="FirstTokenMs">Milliseconds to the first generated token, if there was one.</param>
/// <param name="GeneratedTokens">Tokens generated.</param>
/// <param name="DecodeTokensPerSecond">Generated tokens per second after the first, if there were two or more.</param>
/// <param name="SamplingMs">Of the generation, milliseconds choosing tokens from the logits.</param>
/// <param name="DecodeMs">Milliseconds in llama.cpp decoding the generated tokens (the prefill not counted).</param>
/// <param name="DeliveryMs">Milliseconds the decode thread spent handing tokens on: parsing them and writing the
/// turn's updates, between one token's decode and the next.</param>
/// <param name="GenerationMs">The whole generation on its thread, prefill included.</param>
/// <param name="AbortStopMs">Cancelled inside llama.cpp: milliseconds from the cancel to its return, the cache trimmed.</param>
internal sealed record InferenceEvent(
    string Model, string SessionId, string Outcome, int PromptTokens, int ReusedTokens, int PrefilledTokens, double PrefillMs, double? FirstTokenMs,
    int GeneratedTokens, double? DecodeTokensPerSecond, double? SamplingMs = null, double? DecodeMs = null, double? DeliveryMs = null,
    double? GenerationMs = null, double? AbortStopMs = null) : TelemetryEvent(Model)
{
    /// <summary>Prefilled tokens per second, if any were prefilled.</summary>
    public double? PrefillTokensPerSecond => PrefillMs > 0 && PrefilledTokens > 0 ? PrefilledTokens / (PrefillMs / 1000) : null;
}

/// <summary>
/// Where telemetry goes: every event is a structured log event; subscribers (connections whose client opted in)
/// get it too.
/// </summary>
/// <remarks>Thread-safe. Subscribers are called on the publishing thread and must not block.</remarks>
internal sealed partial class Telemetry(ILogger logger)
{
    private readonly Lock _gate = new();
    private Action<TelemetryEvent>[] _subscribers = [];

    /// <summary>Receives every event from now until the returned object is disposed.</summary>
    public IDisposable Subscribe(Action<TelemetryEvent> subscriber)
    {
        lock (_gate)
        {
            _subscribers = [.. _subscribers, subscriber];
        }

        return new Subscription(this, subscriber);
    }

    public void Publish(TelemetryEvent telemetryEvent)
    {
        switch (telemetryEvent)
        {
            case LoadStageEvent e:
                LogLoadStage(logger, e.Model, e.Stage, e.ElapsedMs, e.Progress, e.Detail ?? "");
                break;
            case InferenceEvent e:
                LogInference(logger, e.Model, e.SessionId, e.Outcome, e.PromptTokens, e.ReusedTokens, e.PrefilledTokens, e.PrefillMs, e.PrefillTokensPerSecond ?? 0,
                    e.FirstTokenMs ?? 0, e.GeneratedTokens, e.DecodeTokensPerSecond ?? 0, e.SamplingMs ?? 0, e.DecodeMs ?? 0, e.DeliveryMs ?? 0);
                break;
        }

        foreach (Action<TelemetryEvent> subscriber in Volatile.Read(ref _subscribers))
        {
            subscriber(telemetryEvent);
        }
    }

    private void Unsubscribe(Action<TelemetryEvent> subscriber)
    {
        lock (_gate)
        {
            _subscribers = [.. _subscribers.Where(s => s != subscriber)];
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Model {Model}: {Stage} after {ElapsedMs:F0} ms ({Progress:P0}) {Detail}")]
    private static partial void LogLoadStage(ILogger logger, string model, string stage, double elapsedMs, double progress, string detail);

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Inference {Model} session {SessionId} {Outcome}: prompt {PromptTokens} tokens, {ReusedTokens} from the cache, {PrefilledTokens} prefilled in {PrefillMs:F0} ms ({PrefillTokensPerSecond:F0} tok/s); first token after {FirstTokenMs:F0} ms; {GeneratedTokens} generated at {DecodeTokensPerSecond:F1} tok/s (sampling {SamplingMs:F1} ms, llama_decode {DecodeMs:F0} ms, delivery {DeliveryMs:F1} ms)")]
    private static partial void LogInference(
        ILogger logger, string model, string sessionId, string outcome, int promptTokens, int reusedTokens, int prefilledTokens, double prefillMs, double prefillTokensPerSecond,
        double firstTokenMs, int generatedTokens, double decodeTokensPerSecond, double samplingMs, double decodeMs, double deliveryMs);

    private sealed class Subscription(Telemetry telemetry, Action<TelemetryEvent> subscriber) : IDisposable
    {
        public void Dispose() => telemetry.Unsubscribe(subscriber);
    }
}
