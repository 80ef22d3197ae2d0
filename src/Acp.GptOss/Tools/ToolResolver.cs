namespace Acp.GptOss.Tools;

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
