using System.Text;

namespace Acp.GptOss.Tools.Mcp;

/// <summary>
/// Function names for MCP tools: Harmony function names are identifiers, MCP tool and server names are not (dots,
/// dashes, spaces), and two servers may offer tools of the same name.
/// </summary>
/// <remarks>Not thread-safe: one instance names the functions of one toolbox, once.</remarks>
internal sealed class McpNames
{
    private readonly HashSet<string> _taken = new(StringComparer.Ordinal);

    /// <summary>
    /// <c>{server}__{tool}</c> with every character outside [A-Za-z0-9_] replaced by <c>_</c> and a leading digit
    /// prefixed with <c>_</c>; the first name given out is kept as it is, later equal ones get <c>_2</c>, <c>_3</c>, ...
    /// </summary>
    public string Next(string server, string tool)
    {
        string name = Sanitize($"{server}__{tool}");
        string unique = name;
        for (int suffix = 2; !_taken.Add(unique); suffix++)
        {
            unique = $"{name}_{suffix}";
        }

        return unique;
    }

    internal static string Sanitize(string name)
    {
        var builder = new StringBuilder(name.Length + 1);
        if (name.Length > 0 && char.IsAsciiDigit(name[0]))
        {
            builder.Append('_');
        }

        foreach (char c in name)
        {
            builder.Append(char.IsAsciiLetterOrDigit(c) || c == '_' ? c : '_');
        }

        return builder.ToString();
    }
}
