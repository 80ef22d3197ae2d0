namespace Acp.GptOss.Tests.Support;

/// <summary>Prompts written as Harmony text and tokenized with the real vocabulary, for tests below the agent.</summary>
internal static class RawPrompts
{
    /// <summary>The ids of Harmony text with literal special spellings.</summary>
    public static int[] Tokenize(string literal)
    {
        var tokens = new List<int>();
        TestModels.VocabularyModel.Vocabulary.Tokenize(System.Text.Encoding.UTF8.GetBytes(literal), tokens, parseSpecial: true);
        return [.. tokens];
    }

    /// <summary>A short system message, the user's message, and the assistant's turn to answer.</summary>
    public static int[] Prompt(string user) => Tokenize($"<|start|>system<|message|>Reasoning: low<|end|><|start|>user<|message|>{user}<|end|><|start|>assistant");

    /// <summary><paramref name="count"/> distinct words, for prompts of a chosen length.</summary>
    public static string Words(int count) => string.Join(' ', Enumerable.Range(0, count).Select(i => $"word{i}"));
}
