using System.Text.Json;

namespace Acp.GptOss.Tests.Support;

/// <summary>One request a <see cref="FakeServingEngine"/> received.</summary>
/// <param name="Method">GET or POST.</param>
/// <param name="Path">The path without its leading slash.</param>
/// <param name="Body">The body, or null for none.</param>
/// <param name="Authorization">The Authorization header, or null.</param>
internal sealed record FakeServingEngineRequest(string Method, string Path, string? Body, string? Authorization)
{
    /// <summary>The body as JSON.</summary>
    public JsonElement Json => JsonDocument.Parse(Body ?? "null").RootElement.Clone();
}
