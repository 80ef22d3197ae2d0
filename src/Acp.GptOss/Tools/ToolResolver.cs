namespace Acp.GptOss.Tools;

/// <summary>How a call's recipient resolved (harmony.md §7.8).</summary>
internal enum ToolResolution
{
    /// <summary>A declared function.</summary>
    Function,

    /// <summary>One of OpenAI's built-in tools (python, browser.*, container.*), which this agent does not offer.</summary>
    BuiltIn,

    /// <summary>Nothing declared by that name.</summary>
    Unknown,
}

/// <summary>A call's recipient resolved against the declared functions.</summary>
/// <param name="Resolution">What it named.</param>
/// <param name="Name">The declared function's name; otherwise the recipient as the model wrote it.</param>
internal readonly record struct ResolvedTool(ToolResolution Resolution, string Name)
{
    /// <summary>The recipient to record in the history: <c>functions.NAME</c> for a function, whatever the model wrote.</summary>
    public string Recipient => Resolution == ToolResolution.Function ? ToolResolver.Namespace + Name : Name;
}

/// <summary>
/// Resolves the recipient of a Harmony tool call to a declared function, tolerating the slips GPT-OSS is known to make:
/// a missing <c>functions.</c> namespace (RooCode #6739) and a content type glued to the name (<c>shelljson</c>,
/// llama.cpp #15158).
/// </summary>
internal static class ToolResolver
{
    public const string Namespace = "functions.";

    private const string JsonSuffix = "json";

    public static ResolvedTool Resolve(string recipient, IReadOnlySet<string> functions)
    {
        ArgumentNullException.ThrowIfNull(recipient);
        ArgumentNullException.ThrowIfNull(functions);
        string name = recipient.Trim();
        if (name.StartsWith(Namespace, StringComparison.Ordinal))
        {
            name = name[Namespace.Length..];
        }
        else if (name == "python" || name.StartsWith("browser.", StringComparison.Ordinal) || name.StartsWith("container.", StringComparison.Ordinal))
        {
            return new ResolvedTool(ToolResolution.BuiltIn, name);
        }

        if (functions.Contains(name))
        {
            return new ResolvedTool(ToolResolution.Function, name);
        }

        if (name.EndsWith(JsonSuffix, StringComparison.Ordinal) && functions.Contains(name[..^JsonSuffix.Length]))
        {
            return new ResolvedTool(ToolResolution.Function, name[..^JsonSuffix.Length]);
        }

        return new ResolvedTool(ToolResolution.Unknown, recipient);
    }
}
