using System.Text.Json;
using System.Text.Json.Serialization;
using Acp.GptOss.Inference;
using Acp.GptOss.Routing;
using Acp.Protocol.JsonRpc;

namespace Acp.GptOss.Agent;

/// <summary>
/// Our ACP extensions for models: <c>_gptoss/status</c>, <c>_gptoss/load</c> and <c>_gptoss/unload</c>, and the
/// <c>_gptoss/telemetry</c> notification (schemas/gptoss-*.schema.json).
/// </summary>
internal sealed class ModelExtensions(AgentEngines engines)
{
    public const string Status = "_gptoss/status";
    public const string Load = "_gptoss/load";
    public const string Unload = "_gptoss/unload";
    public const string TelemetryNotification = "_gptoss/telemetry";

    public static IReadOnlyCollection<string> Methods { get; } = [Status, Load, Unload];

    /// <summary>What <c>agentCapabilities._meta</c> says of them.</summary>
    public static JsonElement Capabilities { get; } = JsonSerializer.SerializeToElement(
        new CapabilitiesMeta(new GptOssCapabilities(1, [.. Methods], [TelemetryNotification])), AgentJsonContext.Default.CapabilitiesMeta);

    /// <summary>Whether the client asked for telemetry: <c>clientCapabilities._meta.gptoss.telemetry</c> is true.</summary>
    public static bool WantsTelemetry(JsonElement? clientMeta) =>
        clientMeta is { ValueKind: JsonValueKind.Object } meta
        && meta.TryGetProperty("gptoss", out JsonElement gptoss) && gptoss.ValueKind == JsonValueKind.Object
        && gptoss.TryGetProperty("telemetry", out JsonElement telemetry) && telemetry.ValueKind == JsonValueKind.True;

    public static JsonElement ToJson(TelemetryEvent telemetryEvent) =>
        JsonSerializer.SerializeToElement(telemetryEvent, AgentJsonContext.Default.TelemetryEvent);

    /// <exception cref="JsonRpcException">-32601 for a method not ours, -32602 for bad params.</exception>
    public async ValueTask<JsonElement> InvokeAsync(string method, JsonElement parameters, CancellationToken cancellationToken)
    {
        switch (method)
        {
            case Status:
                return StatusResult();
            case Load:
                foreach (IModel model in Select(parameters))
                {
                    try
                    {
                        await model.LoadAsync(cancellationToken).ConfigureAwait(false);
                    }
                    catch (InferenceException)
                    {
                        // The status answered carries the error.
                    }
                }

                return StatusResult();
            case Unload:
                await Task.WhenAll(Select(parameters).Select(model => model.UnloadAsync())).WaitAsync(cancellationToken).ConfigureAwait(false);
                return StatusResult();
            default:
                throw new JsonRpcException(JsonRpcErrorCodes.MethodNotFound, $"Method not found: {method}");
        }
    }

    private JsonElement StatusResult() => JsonSerializer.SerializeToElement(
        new StatusResult(engines.GptOss.Description, engines.Fast?.Description, [.. engines.Models.Select(m => m.GetStatus())]),
        AgentJsonContext.Default.StatusResult);

    // {"model": "gpt-oss" | "fast"} picks one; no model, every one.
    private List<IModel> Select(JsonElement parameters)
    {
        List<IModel> models = [.. engines.Models];
        if (parameters.ValueKind != JsonValueKind.Object || !parameters.TryGetProperty("model", out JsonElement model))
        {
            return models;
        }

        if (ModelRoles.FromWireName(model.ValueKind == JsonValueKind.String ? model.GetString() : null) is not { } role)
        {
            throw new JsonRpcException(
                JsonRpcErrorCodes.InvalidParams, $"Invalid params: model is \"{ModelRole.GptOss.WireName()}\" or \"{ModelRole.Fast.WireName()}\".");
        }

        return models.FirstOrDefault(m => m.Role == role) is { } chosen
            ? [chosen]
            : throw new JsonRpcException(JsonRpcErrorCodes.InvalidParams, $"Invalid params: no {role.WireName()} model is configured.");
    }
}

/// <summary><c>_gptoss/status</c> result.</summary>
internal sealed record StatusResult(string Engine, string? FastEngine, IReadOnlyList<ModelStatus> Models);

internal sealed record CapabilitiesMeta(GptOssCapabilities Gptoss);

internal sealed record GptOssCapabilities(int Version, IReadOnlyList<string> Methods, IReadOnlyList<string> Notifications);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(StatusResult))]
[JsonSerializable(typeof(CapabilitiesMeta))]
[JsonSerializable(typeof(TelemetryEvent))]
[JsonSerializable(typeof(PromptMeta))]
internal sealed partial class AgentJsonContext : JsonSerializerContext;

/// <summary>The prompt response's <c>_meta</c>: <c>{"gptoss": {"route": ..., "usage": ...}}</c>.</summary>
internal sealed record PromptMeta(PromptGptOssMeta Gptoss);

internal sealed record PromptGptOssMeta(RouteMeta Route)
{
    /// <summary>The turn's token counts, when it made a model call.</summary>
    public Commands.PromptUsage? Usage { get; init; }
}
