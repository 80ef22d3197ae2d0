using Harmony.Conversations;
using Harmony.Rendering;

namespace Harmony.Tests;

/// <summary>Exact render goldens: golden/render/NAME.conversation.json must render to NAME.txt.</summary>
public sealed class RenderGoldenTests
{
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
    public void Token_rendering_spells_the_same_prompt(string name)
    {
        HarmonyConversation conversation = Load(name);
        var encoding = new HarmonyEncoding(O200kByteTokenizer.Instance);

        int[] tokens = encoding.RenderForCompletion(conversation);

        string expected = File.ReadAllText(Path.Combine(Directory, name + ".txt"));
        Assert.Equal(expected, HarmonyLiteralText.Render(tokens, O200kByteTokenizer.Instance));
        var reparsed = new List<int>();
        HarmonyLiteralText.Tokenize(expected, O200kByteTokenizer.Instance, reparsed);
        Assert.Equal(tokens, reparsed);
    }

    private static HarmonyConversation Load(string name) =>
        HarmonyConversationJson.Parse(File.ReadAllBytes(Path.Combine(Directory, name + ".conversation.json")));
}
