using Acp.Protocol;

namespace Acp.GptOss.Agent.Commands;

/// <summary>A prompt that is one of the agent's commands: <c>/name</c>, then what follows it.</summary>
/// <param name="Name">The command's name, without the slash.</param>
/// <param name="Argument">What was typed after the name, trimmed; empty when nothing.</param>
internal sealed record SlashCommandLine(string Name, string Argument)
{
    /// <summary>
    /// Reads a prompt as a command: a single text block that starts with <c>/</c> and a name the agent knows
    /// (<see cref="SlashCommands.Known"/>). Anything else (an unknown <c>/word</c>, a <c>/</c> alone, text with a slash
    /// further on, an attachment beside it) is a message for the model, unchanged.
    /// </summary>
    public static SlashCommandLine? TryParse(IReadOnlyList<ContentBlock> prompt)
    {
        if (prompt is not [TextContent { Text: var text }])
        {
            return null;
        }

        ReadOnlySpan<char> line = text.AsSpan().Trim();
        if (line.Length < 2 || line[0] != '/')
        {
            return null;
        }

        int end = 1;
        while (end < line.Length && !char.IsWhiteSpace(line[end]))
        {
            end++;
        }

        string name = line[1..end].ToString();
        return SlashCommands.Known(name) ? new SlashCommandLine(name, line[end..].Trim().ToString()) : null;
    }
}
