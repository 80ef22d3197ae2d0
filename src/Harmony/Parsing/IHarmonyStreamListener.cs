namespace Harmony.Parsing;

/// <summary>
/// Receives what <see cref="HarmonyStreamParser"/> finds, synchronously, on the thread that pushes tokens.
/// Spans are only valid during the call.
/// </summary>
public interface IHarmonyStreamListener
{
    /// <summary>A header is complete; the message's content follows.</summary>
    void OnMessageStarted(in HarmonyHeader header)
    {
    }

    /// <summary>
    /// New content, never empty, whole characters only. Meant for the user only when <paramref name="route"/> is
    /// <see cref="HarmonyRoute.Final"/> or <see cref="HarmonyRoute.Commentary"/> (see
    /// <see cref="HarmonyRouteExtensions.IsVisible"/>). A message on an unknown channel that ends the turn is
    /// delivered once more, whole, as <see cref="HarmonyRoute.Final"/>.
    /// </summary>
    void OnText(HarmonyRoute route, ReadOnlySpan<char> text);

    /// <summary>A message is complete.</summary>
    void OnMessageCompleted(in HarmonyCompletedMessage message);

    /// <summary>The model called a tool; <see cref="OnStopped"/> with <see cref="HarmonyStopReason.ToolCall"/> follows.</summary>
    void OnToolCall(in HarmonyToolCall toolCall);

    /// <summary>The parser stopped; it is the last event.</summary>
    void OnStopped(HarmonyStopReason reason);

    /// <summary>Malformed output was tolerated.</summary>
    void OnDiagnostic(HarmonyDiagnostic diagnostic)
    {
    }
}
