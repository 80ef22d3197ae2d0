using Harmony.Conversations;
using Harmony.Rendering;

namespace Acp.GptOss.Completions;

/// <summary>
/// From the recipient the model wrote back to the function's name as the caller declared it. The model sees each
/// name as an identifier (docs/harmony.md §3.2) and slips in known ways (§6.2): <c>functions.NAME</c>, <c>NAME</c>
/// alone, <c>NAMEjson</c>. A recipient that names no declared function comes back as written, less <c>functions.</c>.
/// </summary>
internal sealed class ToolNameMap
{
    private const string Namespace = "functions.";

    private readonly Dictionary<string, string> _declared = new(StringComparer.Ordinal);

    public ToolNameMap(IReadOnlyList<HarmonyFunctionTool> tools)
    {
        string[] rendered = HarmonyToolNames.Assign(tools);
        for (int i = 0; i < tools.Count; i++)
        {
            _declared[rendered[i]] = tools[i].Name;
        }
    }

    /// <summary>The declared name the model meant by <paramref name="recipient"/>.</summary>
    public string Resolve(string recipient)
    {
        string name = recipient.StartsWith(Namespace, StringComparison.Ordinal) ? recipient[Namespace.Length..] : recipient;
        if (_declared.TryGetValue(name, out string? declared))
        {
            return declared;
        }

        return name.EndsWith("json", StringComparison.Ordinal) && _declared.TryGetValue(name[..^"json".Length], out declared) ? declared : name;
    }

    /// <summary>The recipient a call to the declared function <paramref name="name"/> is rendered with in history.</summary>
    public string Recipient(string name)
    {
        foreach ((string rendered, string declared) in _declared)
        {
            if (declared == name)
            {
                return Namespace + rendered;
            }
        }

        return Namespace + HarmonyToolNames.Sanitize(name);
    }
}
