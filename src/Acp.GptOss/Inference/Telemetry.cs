using Microsoft.Extensions.Logging;

namespace Acp.GptOss.Inference;

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
        // The wire name, as in the events clients get ("gpt-oss", "fast").
        string model = telemetryEvent.Model.WireName();
        switch (telemetryEvent)
        {
            case LoadStageEvent e:
                LogLoadStage(logger, model, e.Stage, e.ElapsedMs, e.Progress, e.Detail ?? "");
                break;
            case InferenceEvent e:
                LogInference(logger, model, e.SessionId, e.Outcome, e.PromptTokens, e.ReusedTokens, e.PrefilledTokens, e.PrefillMs, e.PrefillTokensPerSecond ?? 0,
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
