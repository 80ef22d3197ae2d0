namespace Acp.GptOss.Tools;

/// <summary>The rule of edit_file, the same whether the file's text came from the editor or the disk.</summary>
internal static class TextEdit
{
    /// <summary>
    /// Replaces the one exact occurrence of <paramref name="oldText"/> in <paramref name="text"/>; the rule of
    /// edit_file, wherever the text was read from.
    /// </summary>
    /// <returns>The new text and the 1-based line where the replacement starts.</returns>
    /// <exception cref="ToolException">The old text is empty, missing, or not unique.</exception>
    public static (string Text, int Line) ReplaceOnce(string path, string text, string oldText, string newText)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(oldText);
        ArgumentNullException.ThrowIfNull(newText);
        if (oldText.Length == 0)
        {
            throw new ToolException("old_text is empty; to create or replace a whole file, use write_file.");
        }

        int index = text.IndexOf(oldText, StringComparison.Ordinal);
        if (index < 0)
        {
            throw new ToolException($"old_text was not found in '{path}'. It must match the file exactly, whitespace and line endings included; read the file again.");
        }

        int occurrences = CountOccurrences(text, oldText);
        if (occurrences > 1)
        {
            throw new ToolException($"old_text occurs {occurrences} times in '{path}'. Include more of the surrounding lines so that it occurs once.");
        }

        string after = string.Concat(text.AsSpan(0, index), newText, text.AsSpan(index + oldText.Length));
        return (after, CountOccurrences(text.AsSpan(0, index), '\n') + 1);
    }

    /// <summary>The result of an edit for the model, which already knows both fragments.</summary>
    public static string Summary(WorkspaceRoots roots, string fullPath, int line) => $"Edited {roots.DisplayPath(fullPath)} at line {line}.";

    private static int CountOccurrences(string text, string value)
    {
        int count = 0;
        for (int index = text.IndexOf(value, StringComparison.Ordinal); index >= 0; index = text.IndexOf(value, index + 1, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }

    private static int CountOccurrences(ReadOnlySpan<char> text, char value) => text.Count(value);
}
