using System.Text.Json;
using Acp.GptOss.Inference;
using Acp.Protocol;
using Acp.GptOss.Routing;
using Acp.Protocol.JsonRpc;
using Harmony.Conversations;

namespace Acp.GptOss.Agent;

/// <summary>What the user sees of the model's reasoning (the analysis channel).</summary>
internal enum ReasoningDisplay
{
    /// <summary>Nothing.</summary>
    Hidden,

    /// <summary>A short "Thinking…" thought per analysis message, never its text.</summary>
    Status,

    /// <summary>The analysis text itself, as thoughts. OpenAI warns that it is not safety-tuned.</summary>
    Full,
}

/// <summary>How freely the model's tools act (ACP session modes, mirrored by the <c>mode</c> config option).</summary>
internal enum AgentMode
{
    /// <summary>Edits and commands each need the user's permission.</summary>
    Ask,

    /// <summary>Edits are approved; commands still need permission.</summary>
    Code,
}

/// <summary>A session's config options (ACP <c>configOptions</c>). Immutable: a turn takes one snapshot per round.</summary>
internal sealed record SessionSettings(
    ReasoningEffort ReasoningEffort = ReasoningEffort.Medium,
    ReasoningDisplay ReasoningDisplay = ReasoningDisplay.Status,
    ModelChoice Model = ModelChoice.Auto,
    AgentMode Mode = AgentMode.Ask)
{
    public const string ModeId = "mode";
    public const string ReasoningEffortId = "reasoning_effort";
    public const string ReasoningDisplayId = "reasoning_display";
    public const string ModelId = "model";

    private static readonly (string Value, string Name, string Description, AgentMode Mode)[] s_modes =
    [
        ("ask", "Ask", "Ask before every edit and command", AgentMode.Ask),
        ("code", "Code", "Make edits without asking; ask before commands", AgentMode.Code),
    ];

    private static readonly (string Value, string Name, string Description, ModelChoice Choice)[] s_models =
    [
        ("auto", "Auto", "Long and coding requests to GPT-OSS, short ones to the fast model", ModelChoice.Auto),
        (ModelRoles.GptOssName, "GPT-OSS", "Every request to GPT-OSS", ModelChoice.GptOss),
        (ModelRoles.FastName, "Fast", "Every request to the fast model", ModelChoice.Fast),
    ];

    private static readonly (string Value, string Name, string Description, ReasoningEffort Effort)[] s_efforts =
    [
        ("low", "Low", "Short reasoning, fast answers", ReasoningEffort.Low),
        ("medium", "Medium", "Balanced", ReasoningEffort.Medium),
        ("high", "High", "Long reasoning, for hard problems", ReasoningEffort.High),
    ];

    private static readonly (string Value, string Name, string Description, ReasoningDisplay Display)[] s_displays =
    [
        ("hidden", "Hidden", "Show nothing while the model reasons", ReasoningDisplay.Hidden),
        ("status", "Status", "Show that the model is reasoning, not what", ReasoningDisplay.Status),
        ("full", "Full", "Show the model's raw reasoning", ReasoningDisplay.Full),
    ];

    /// <summary>Whether a fast model is configured: only then is there a model to choose.</summary>
    public bool HasFastModel { get; init; }

    /// <summary>The options with their current values, in priority order.</summary>
    public IReadOnlyList<SessionConfigOption> ToConfigOptions() =>
        HasFastModel ? [ModeOption(), ModelOption(), .. ReasoningOptions()] : [ModeOption(), .. ReasoningOptions()];

    /// <summary>The modes as ACP's <c>modes</c> field has them: the same choice as the <c>mode</c> option.</summary>
    public SessionModeState ToModeState() =>
        new(ModeValue, [.. s_modes.Select(m => new Acp.Protocol.SessionMode(m.Value, m.Name) { Description = m.Description })]);

    /// <summary>The id of the mode in force.</summary>
    public string ModeValue => s_modes.First(m => m.Mode == Mode).Value;

    /// <summary>These settings in another mode.</summary>
    /// <exception cref="JsonRpcException">-32602 for a mode this agent does not have.</exception>
    public SessionSettings WithMode(string modeId) => this with
    {
        Mode = s_modes.FirstOrDefault(m => m.Value == modeId) is { Value: not null } m
            ? m.Mode
            : throw InvalidParams($"Unknown mode \"{modeId}\"; this agent has ask and code."),
    };

    private SessionConfigOption ModeOption() =>
        new(ModeId, "Mode", ModeValue, [.. s_modes.Select(m => new SessionConfigSelectOption(m.Value, m.Name) { Description = m.Description })])
        {
            Category = "mode",
            Description = "When the agent asks before it edits files or runs commands.",
        };

    private SessionConfigOption ModelOption() =>
        new(
            ModelId, "Model", s_models.First(m => m.Choice == Model).Value,
            [.. s_models.Select(m => new SessionConfigSelectOption(m.Value, m.Name) { Description = m.Description })])
        {
            Category = "model",
            Description = "Which model answers: the router, GPT-OSS or the fast model.",
        };

    private SessionConfigOption[] ReasoningOptions() =>
    [
        new SessionConfigOption(
            ReasoningEffortId, "Reasoning effort", ValueOf(ReasoningEffort),
            [.. s_efforts.Select(e => new SessionConfigSelectOption(e.Value, e.Name) { Description = e.Description })])
        {
            Category = "thought_level",
            Description = "How much GPT-OSS reasons before it answers.",
        },
        new SessionConfigOption(
            ReasoningDisplayId, "Reasoning display", ValueOf(ReasoningDisplay),
            [.. s_displays.Select(d => new SessionConfigSelectOption(d.Value, d.Name) { Description = d.Description })])
        {
            Description = "What you see of the model's reasoning.",
        },
    ];

    /// <summary>These settings with one option changed.</summary>
    /// <exception cref="JsonRpcException">-32602 for an unknown option or a value it does not take.</exception>
    public SessionSettings With(string configId, JsonElement value, string? type)
    {
        if (type is not null || value.ValueKind != JsonValueKind.String)
        {
            throw InvalidParams($"{configId} is a select option; its value is a string.");
        }

        string text = value.GetString()!;
        return configId switch
        {
            ModeId => WithMode(text),
            ReasoningEffortId => this with
            {
                ReasoningEffort = s_efforts.FirstOrDefault(e => e.Value == text) is { Value: not null } e
                    ? e.Effort
                    : throw InvalidParams($"{configId} takes low, medium or high, not \"{text}\"."),
            },
            ReasoningDisplayId => this with
            {
                ReasoningDisplay = s_displays.FirstOrDefault(d => d.Value == text) is { Value: not null } d
                    ? d.Display
                    : throw InvalidParams($"{configId} takes hidden, status or full, not \"{text}\"."),
            },
            ModelId when !HasFastModel => throw InvalidParams($"There is no model to choose: no fast model is configured (start the agent with --fast-model FILE.gguf)."),
            ModelId => this with
            {
                Model = s_models.FirstOrDefault(m => m.Value == text) is { Value: not null } m
                    ? m.Choice
                    : throw InvalidParams($"{configId} takes auto, gpt-oss or fast, not \"{text}\"."),
            },
            _ => throw InvalidParams($"Unknown config option \"{configId}\"; this agent has {ModeId}, {ModelId}, {ReasoningEffortId} and {ReasoningDisplayId}."),
        };
    }

    /// <summary>Parses a mode named on the command line.</summary>
    public static bool TryParseMode(string text, out AgentMode mode)
    {
        (string Value, string Name, string Description, AgentMode Mode) match = s_modes.FirstOrDefault(m => m.Value == text);
        mode = match.Mode;
        return match.Value is not null;
    }

    /// <summary>Parses a reasoning display named on the command line.</summary>
    public static bool TryParseDisplay(string text, out ReasoningDisplay display)
    {
        (string Value, string Name, string Description, ReasoningDisplay Display) match = s_displays.FirstOrDefault(d => d.Value == text);
        display = match.Display;
        return match.Value is not null;
    }

    private static string ValueOf(ReasoningEffort effort) => s_efforts.First(e => e.Effort == effort).Value;

    private static string ValueOf(ReasoningDisplay display) => s_displays.First(d => d.Display == display).Value;

    private static JsonRpcException InvalidParams(string message) => new(JsonRpcErrorCodes.InvalidParams, message);
}
