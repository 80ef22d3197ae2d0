using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Logging;

namespace Acp.GptOss.Routing;

/// <summary>One routing decision, as logged: a line of <c>decisions.jsonl</c> (schemas/route-decision.schema.json).</summary>
/// <param name="Time">When it was made.</param>
/// <param name="Session">The ACP session.</param>
/// <param name="Model">gpt-oss or fast.</param>
/// <param name="Reasons">Why.</param>
/// <param name="PromptTokens">The request's tokens, in GPT-OSS's vocabulary.</param>
/// <param name="Threshold">The token threshold in force.</param>
/// <param name="Signals">The code-generation signals found.</param>
/// <param name="Choice">The session's <c>model</c> option: auto, gpt-oss or fast.</param>
internal sealed record RouteDecision(
    DateTimeOffset Time, string Session, string Model, IReadOnlyList<string> Reasons, int PromptTokens, int Threshold, IReadOnlyList<string> Signals, string Choice);

/// <summary>What the prompt response carries in <c>_meta.gptoss.route</c>.</summary>
/// <param name="Model">Where the turn went: gpt-oss or fast.</param>
/// <param name="Reasons">Every reason for the choice.</param>
/// <param name="PromptTokens">The request's tokens; null (left out) without a fast model, where nothing is counted.</param>
/// <param name="Threshold">The token count above which requests go to GPT-OSS.</param>
internal sealed record RouteMeta(string Model, IReadOnlyList<string> Reasons, int? PromptTokens, int Threshold);

/// <summary>
/// Writes every routing decision as one JSON line to the log on stderr and appends it to <c>decisions.jsonl</c> in
/// the state folder. A decision that cannot be appended (a full disk, a read-only home) is logged as a warning; the
/// turn goes on.
/// </summary>
/// <remarks>Thread-safe.</remarks>
internal sealed partial class RouteDecisionLog(string? stateDirectory, ILogger logger)
{
    public const string FileName = "decisions.jsonl";

    private readonly Lock _gate = new();

    /// <summary>The file appended to, or null when decisions are only logged.</summary>
    public string? Path { get; } = stateDirectory is null ? null : System.IO.Path.Combine(stateDirectory, FileName);

    public void Write(RouteDecision decision)
    {
        string line = JsonSerializer.Serialize(decision, RoutingJsonContext.Default.RouteDecision);
        LogDecision(logger, line);
        if (Path is null)
        {
            return;
        }

        try
        {
            lock (_gate)
            {
                Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
                File.AppendAllText(Path, line + "\n", s_utf8);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            LogAppendFailed(logger, Path, e.Message);
        }
    }

    private static readonly UTF8Encoding s_utf8 = new(encoderShouldEmitUTF8Identifier: false);

    [LoggerMessage(Level = LogLevel.Information, Message = "Route: {Decision}")]
    private static partial void LogDecision(ILogger logger, string decision);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not append the routing decision to {Path}: {Reason}")]
    private static partial void LogAppendFailed(ILogger logger, string path, string reason);
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(RouteDecision))]
[JsonSerializable(typeof(RouteMeta))]
internal sealed partial class RoutingJsonContext : JsonSerializerContext;
