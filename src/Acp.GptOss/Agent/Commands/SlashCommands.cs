using Acp.Protocol;

namespace Acp.GptOss.Agent.Commands;

/// <summary>
/// The commands the agent runs itself, without a model call (docs/acp.md §4.5): their names, descriptions and input
/// hints, as <c>available_commands_update</c> lists them.
/// </summary>
internal static class SlashCommands
{
    public const string Model = "model";
    public const string Effort = "effort";
    public const string Reasoning = "reasoning";
    public const string Status = "status";
    public const string Compact = "compact";
    public const string Unload = "unload";
    public const string Download = "download";

    /// <summary>What <c>/download</c> fetches when nothing follows it.</summary>
    public const string DefaultDownload = "gpt-oss-20b";

    private static readonly AvailableCommand s_model =
        new(Model, "Choose the model that answers: the router, GPT-OSS, or the fast model") { Input = new AvailableCommandInput("auto | gpt-oss | fast") };

    private static readonly AvailableCommand s_download =
        new(Download, "Download a model into the Hugging Face cache, as `models pull`") { Input = new AvailableCommandInput("gpt-oss-20b | gpt-oss-120b | ORG/REPO/FILE") };

    private static readonly AvailableCommand[] s_always =
    [
        new(Effort, "Set how much GPT-OSS reasons before it answers") { Input = new AvailableCommandInput("low | medium | high") },
        new(Reasoning, "Set what you see of the model's reasoning") { Input = new AvailableCommandInput("hidden | status | full") },
        new(Status, "Show the models, the context used, the last route and the runtime"),
        new(Compact, "Compact the conversation now: earlier turns give way to a short note"),
        new(Unload, "Unload the models to free memory; the next prompt loads them again"),
    ];

    /// <summary>
    /// The commands of a session. <c>/model</c> is listed only with a fast model, as the <c>model</c> option is:
    /// without one there is nothing to choose (typed anyway, it answers why). <c>/download</c> likewise only where the
    /// agent can download models.
    /// </summary>
    public static IReadOnlyList<AvailableCommand> For(SessionSettings settings, bool canDownload = false) =>
        [.. settings.HasFastModel ? [s_model] : Array.Empty<AvailableCommand>(), .. s_always, .. canDownload ? [s_download] : Array.Empty<AvailableCommand>()];

    /// <summary>Whether <paramref name="name"/> is a command the agent runs itself.</summary>
    public static bool Known(string name) => name == Model || name == Download || Array.Exists(s_always, c => c.Name == name);
}
