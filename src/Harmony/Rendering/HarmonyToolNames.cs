using System.Text;
using Harmony.Conversations;

namespace Harmony.Rendering;

/// <summary>
/// Function names as the model sees them. The tools are rendered as TypeScript, so names must be identifiers;
/// like Ollama we rewrite space, <c>-</c> and <c>.</c> to <c>_</c> and drop other characters, and the agent maps
/// the model's calls back through <see cref="Assign"/>.
/// </summary>
public static class HarmonyToolNames
{
    /// <summary>The identifier for <paramref name="name"/>.</summary>
    public static string Sanitize(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var identifier = new StringBuilder(name.Length + 1);
        foreach (char c in name)
        {
            if (c is ' ' or '-' or '.')
            {
                identifier.Append('_');
            }
            else if (c is '_' or '$' || char.IsAsciiLetterOrDigit(c) || char.IsLetter(c))
            {
                identifier.Append(c);
            }
        }

        if (identifier.Length == 0 || char.IsAsciiDigit(identifier[0]))
        {
            identifier.Insert(0, '_');
        }

        return identifier.ToString();
    }

    /// <summary>
    /// The rendered name of each tool, in order. Names that sanitize alike get <c>_2</c>, <c>_3</c>, ... so that
    /// every call the model makes resolves to exactly one tool.
    /// </summary>
    public static string[] Assign(IReadOnlyList<HarmonyFunctionTool> tools)
    {
        ArgumentNullException.ThrowIfNull(tools);
        var names = new string[tools.Count];
        var taken = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < tools.Count; i++)
        {
            string name = Sanitize(tools[i].Name);
            string unique = name;
            for (int suffix = 2; !taken.Add(unique); suffix++)
            {
                unique = $"{name}_{suffix}";
            }

            names[i] = unique;
        }

        return names;
    }
}
