using System.Text;
using Acp.GptOss.Tests.Support;
using Harmony;
using Harmony.Tokenizers;

namespace Acp.GptOss.Tests;

public sealed class HarmonyRenderCommandTests
{
    public static TheoryData<string> Cases() =>
        [.. Directory.EnumerateFiles(CliRunner.GoldenPath("render"), "*.conversation.json")
            .Select(f => Path.GetFileName(f)[..^".conversation.json".Length]).Order(StringComparer.Ordinal)];

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Render_prints_the_golden_prompt(string name)
    {
        CliResult result = await CliRunner.RunAsync("harmony", "render", CliRunner.GoldenPath("render", name + ".conversation.json"));

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(await File.ReadAllBytesAsync(CliRunner.GoldenPath("render", name + ".txt")), result.Output);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Render_ids_spell_the_same_prompt(string name)
    {
        CliResult result = await CliRunner.RunAsync("harmony", "render", "--ids", CliRunner.GoldenPath("render", name + ".conversation.json"));

        int[] ids = [.. result.Lines.Select(int.Parse)];
        Assert.Equal(0, result.ExitCode);
        Assert.Equal(200006, ids[0]);
        O200kHarmonyTokenizer tokenizer = await O200kHarmonyTokenizer.LoadSharedAsync(CancellationToken.None);
        Assert.Equal(await File.ReadAllTextAsync(CliRunner.GoldenPath("render", name + ".txt")), HarmonyLiteralText.Render(ids, tokenizer));
    }

    [Fact]
    public async Task Render_ids_without_a_vocabulary_are_the_real_o200k_harmony_ids()
    {
        CliResult result = await CliRunner.RunAsync("harmony", "render", "--ids", CliRunner.GoldenPath("render", "trivial-chat.conversation.json"));

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(await File.ReadAllTextAsync(CliRunner.GoldenPath("render", "trivial-chat.o200k.ids")), result.Text);
    }

    [ModelFact]
    public async Task Render_with_the_real_vocabulary_prints_the_checked_in_ids()
    {
        CliResult result = await CliRunner.RunAsync(
            "harmony", "render", "--ids", "--vocab", TestModels.Vocabulary, CliRunner.GoldenPath("render", "trivial-chat.conversation.json"));

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(await File.ReadAllTextAsync(CliRunner.GoldenPath("render", "trivial-chat.o200k.ids")), result.Text);
    }

    [Fact]
    public async Task A_vocabulary_that_is_no_gguf_is_an_error_that_prints_nothing()
    {
        using TempFile vocabulary = await TempFile.WriteAsync(".gguf", "This is not a model, though its name says so.");

        CliResult result = await CliRunner.RunAsync("harmony", "render", "--vocab", vocabulary.Path, CliRunner.GoldenPath("render", "trivial-chat.conversation.json"));

        Assert.Equal(1, result.ExitCode);
        Assert.Empty(result.Output);
        Assert.Contains("not a GGUF file", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_invalid_conversation_says_where_and_prints_nothing()
    {
        CliResult result = await CliRunner.RunAsync(Encoding.UTF8.GetBytes("""{"messages":[{"role":"robot","content":"hi"}]}"""), "harmony", "render", "-");

        Assert.Equal(1, result.ExitCode);
        Assert.Empty(result.Output);
        Assert.Contains("$.messages[0].role", result.Error, StringComparison.Ordinal);
    }
}
