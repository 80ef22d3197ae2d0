using System.Text;

namespace Harmony.Rendering;

/// <summary>Where the renderer writes: one rendering, two outputs (token ids, or text with literal spellings).</summary>
internal abstract class PromptWriter(HarmonySpecialTokens specialTokens)
{
    public HarmonySpecialTokens SpecialTokens { get; } = specialTokens;

    /// <summary>Writes a structural token.</summary>
    public abstract void Special(int id);

    /// <summary>Writes text that must stay ordinary tokens, whatever it contains.</summary>
    public abstract void Text(string text);
}

/// <summary>Writes token ids; text goes through the injection-safe ordinary encoding.</summary>
internal sealed class TokenPromptWriter(IHarmonyTokenizer tokenizer, List<int> tokens) : PromptWriter(tokenizer.SpecialTokens)
{
    public override void Special(int id) => tokens.Add(id);

    public override void Text(string text) => OrdinaryText.Encode(tokenizer, text.AsSpan(), tokens);
}

/// <summary>Writes text with literal special spellings, for debugging and golden files.</summary>
internal sealed class LiteralPromptWriter(HarmonySpecialTokens specialTokens) : PromptWriter(specialTokens)
{
    private readonly StringBuilder _text = new();

    public override void Special(int id) => _text.Append(SpecialTokens.GetSpelling(id));

    public override void Text(string text) => _text.Append(text);

    public override string ToString() => _text.ToString();
}
