using Harmony.Conversations;
using Harmony.Rendering;

namespace Harmony.Tokenizers.Tests;

/// <summary>Harmony's render goldens through the real vocabulary: the same text, and the ids checked in beside them.</summary>
public sealed class RenderGoldenTests
{
    private static string Directory => Path.Combine(AppContext.BaseDirectory, "golden", "render");

    public static TheoryData<string> Cases() =>
        [.. System.IO.Directory.EnumerateFiles(Directory, "*.conversation.json")
            .Select(f => Path.GetFileName(f)[..^".conversation.json".Length])
            .Order(StringComparer.Ordinal)];

    [Theory]
    [MemberData(nameof(Cases))]
    public void Token_rendering_spells_the_golden_prompt_and_its_text_tokenizes_back_to_the_same_ids(string name)
    {
        var encoding = new HarmonyEncoding(TokenizerCorpus.Tokenizer);

        int[] tokens = encoding.RenderForCompletion(Load(name));

        string expected = File.ReadAllText(Path.Combine(Directory, name + ".txt"));
        Assert.Equal(expected, HarmonyLiteralText.Render(tokens, TokenizerCorpus.Tokenizer));
        var reparsed = new List<int>();
        HarmonyLiteralText.Tokenize(expected, TokenizerCorpus.Tokenizer, reparsed);
        Assert.Equal(tokens, reparsed);
    }

    [Fact]
    public void The_trivial_chat_renders_to_the_checked_in_ids()
    {
        int[] golden = [.. File.ReadAllLines(Path.Combine(Directory, "trivial-chat.o200k.ids")).Select(int.Parse)];

        int[] rendered = new HarmonyEncoding(TokenizerCorpus.Tokenizer).RenderForCompletion(Load("trivial-chat"));

        Assert.Equal(golden, rendered);
    }

    private static HarmonyConversation Load(string name) =>
        HarmonyConversationJson.Parse(File.ReadAllBytes(Path.Combine(Directory, name + ".conversation.json")));
}
