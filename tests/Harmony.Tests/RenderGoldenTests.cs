using Harmony.Conversations;
using Harmony.Rendering;
using Harmony.Tokenizers;

namespace Harmony.Tests;

/// <summary>
/// Exact render goldens: golden/render/NAME.conversation.json must render to NAME.txt, and its tokens, through the
/// byte-level tokenizer and through the real o200k_harmony vocabulary alike, must spell that text and come back from it.
/// </summary>
public sealed class RenderGoldenTests
{
    // Loading the real vocabulary takes a third of a second: once for the class.
    private static readonly Lazy<O200kHarmonyTokenizer> s_o200k = new(O200kHarmonyTokenizer.Load);

    private static string Directory => Path.Combine(AppContext.BaseDirectory, "golden", "render");

    public static TheoryData<string> Cases() =>
        [.. System.IO.Directory.EnumerateFiles(Directory, "*.conversation.json")
            .Select(f => Path.GetFileName(f)[..^".conversation.json".Length])
            .Order(StringComparer.Ordinal)];

    [Theory]
    [MemberData(nameof(Cases))]
    public void Conversation_renders_exactly_as_its_golden(string name)
    {
        HarmonyConversation conversation = Load(name);
        var encoding = new HarmonyEncoding(O200kByteTokenizer.Instance);

        string text = encoding.RenderForCompletionText(conversation);

        Assert.Equal(File.ReadAllText(Path.Combine(Directory, name + ".txt")), text);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Token_rendering_spells_the_same_prompt(string name) => AssertTokensSpellTheGolden(name, O200kByteTokenizer.Instance);

    [Theory]
    [MemberData(nameof(Cases))]
    public void Token_rendering_spells_the_golden_prompt_and_its_text_tokenizes_back_to_the_same_ids(string name) =>
        AssertTokensSpellTheGolden(name, s_o200k.Value);

    [Fact]
    public void The_trivial_chat_renders_to_the_checked_in_ids()
    {
        int[] golden = [.. File.ReadAllLines(Path.Combine(Directory, "trivial-chat.o200k.ids")).Select(int.Parse)];

        int[] rendered = new HarmonyEncoding(s_o200k.Value).RenderForCompletion(Load("trivial-chat"));

        Assert.Equal(golden, rendered);
    }

    private static void AssertTokensSpellTheGolden(string name, IHarmonyTokenizer tokenizer)
    {
        var encoding = new HarmonyEncoding(tokenizer);

        int[] tokens = encoding.RenderForCompletion(Load(name));

        string expected = File.ReadAllText(Path.Combine(Directory, name + ".txt"));
        Assert.Equal(expected, HarmonyLiteralText.Render(tokens, tokenizer));
        var reparsed = new List<int>();
        HarmonyLiteralText.Tokenize(expected, tokenizer, reparsed);
        Assert.Equal(tokens, reparsed);
    }

    private static HarmonyConversation Load(string name) =>
        HarmonyConversationJson.Parse(File.ReadAllBytes(Path.Combine(Directory, name + ".conversation.json")));
}
