namespace Acp.GptOss.Inference;

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
    ModelRole Model, string SessionId, string Outcome, int PromptTokens, int ReusedTokens, int PrefilledTokens, double PrefillMs, double? FirstTokenMs,
    int GeneratedTokens, double? DecodeTokensPerSecond, double? SamplingMs = null, double? DecodeMs = null, double? DeliveryMs = null,
    double? GenerationMs = null, double? AbortStopMs = null) : TelemetryEvent(Model)
{
    /// <summary>Prefilled tokens per second, if any were prefilled.</summary>
    public double? PrefillTokensPerSecond => PrefillMs > 0 && PrefilledTokens > 0 ? PrefilledTokens / (PrefillMs / 1000) : null;
}
