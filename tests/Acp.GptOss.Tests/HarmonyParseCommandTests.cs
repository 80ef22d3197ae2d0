using System.Text;
using System.Text.Json;
using Acp.GptOss.Cli;
using Acp.GptOss.Inference.Llama;
using Acp.GptOss.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace Acp.GptOss.Tests;

/// <summary><c>acp-gptoss harmony parse</c> reproduces every golden case, in the documented line shapes.</summary>
public sealed class HarmonyParseCommandTests
{
    private static readonly JsonSchemaValidator s_events = JsonSchemaValidator.Load("harmony-parse-event.schema.json");
    private static readonly Lazy<LlamaTokenizer> s_realVocabulary = new(() => new LlamaTokenizer(TestModels.VocabularyModel.Vocabulary));

    public static TheoryData<string> Cases() => [.. Files()];

    /// <summary>The cases whose raw text is what is fed: not those whose pieces split or cut it.</summary>
    public static TheoryData<string> RawTextCases() => [.. Files().Where(file =>
    {
        using JsonDocument golden = JsonDocument.Parse(File.ReadAllBytes(CliRunner.GoldenPath("harmony", file)));
        return !golden.RootElement.TryGetProperty("pieces", out _) && !golden.RootElement.TryGetProperty("cancelAfterLast", out _);
    })];

    private static IEnumerable<string> Files() =>
        Directory.EnumerateFiles(CliRunner.GoldenPath("harmony"), "*.json").Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal);

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Golden_case_is_reproduced(string file)
    {
        CliResult result = await CliRunner.RunAsync("harmony", "parse", CliRunner.GoldenPath("harmony", file));

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("", result.Error);
        using JsonDocument golden = JsonDocument.Parse(File.ReadAllBytes(CliRunner.GoldenPath("harmony", file)));
        AssertMatchesExpectation(golden.RootElement.GetProperty("expect"), result.Lines);
    }

    [ModelTheory]
    [MemberData(nameof(Cases))]
    public void Golden_case_is_reproduced_with_the_real_vocabulary(string file)
    {
        // What the command does after its --vocab load, on one load for every case: llama.cpp takes seconds to load
        // the 201,088-token vocabulary. The load itself is the next test's.
        string path = CliRunner.GoldenPath("harmony", file);
        byte[] content = File.ReadAllBytes(path);
        CompletionInput input = CompletionInput.FromFile(path, content, s_realVocabulary.Value);

        ReadOnlyMemory<byte> lines = HarmonyCommand.ParseEvents(input, s_realVocabulary.Value, cancel: false, NullLogger.Instance);

        using JsonDocument golden = JsonDocument.Parse(content);
        AssertMatchesExpectation(golden.RootElement.GetProperty("expect"), new CliResult(0, lines.ToArray(), "").Lines);
    }

    [ModelFact]
    public async Task The_real_vocabulary_splits_text_into_its_own_tokens()
    {
        CliResult result = await CliRunner.RunAsync(
            Encoding.UTF8.GetBytes("<|channel|>final<|message|>2 + 2 = 4.<|return|>"), "harmony", "parse", "--vocab", TestModels.Vocabulary, "-");

        Assert.Equal(["2", " +", " ", "2", " =", " ", "4", "."], result.Lines.Where(l => l.Contains("\"chunk\"", StringComparison.Ordinal)).Select(Text));
    }

    [Theory]
    [MemberData(nameof(RawTextCases))]
    public async Task Completion_text_gives_the_messages_of_its_golden_case(string file)
    {
        using JsonDocument golden = JsonDocument.Parse(File.ReadAllBytes(CliRunner.GoldenPath("harmony", file)));
        JsonElement root = golden.RootElement;
        using TempFile completion = await TempFile.WriteAsync(".txt", root.GetProperty("raw").GetString() + "\n");

        CliResult result = await CliRunner.RunAsync("harmony", "parse", completion.Path);

        Assert.Equal(0, result.ExitCode);
        AssertMatchesExpectation(root.GetProperty("expect"), result.Lines);
    }

    [Fact]
    public async Task Stdin_and_cancel_are_supported()
    {
        byte[] completion = Encoding.UTF8.GetBytes("<|channel|>final<|message|>Hello");

        CliResult ended = await CliRunner.RunAsync(completion, "harmony", "parse", "-");
        CliResult cancelled = await CliRunner.RunAsync(completion, "harmony", "parse", "-", "--cancel");

        Assert.Equal("""{"type":"stop","reason":"max_tokens"}""", ended.Lines[^1]);
        Assert.Contains(ended.Lines, l => l.Contains("\"terminator\":\"truncated\"", StringComparison.Ordinal));
        Assert.Equal("""{"type":"stop","reason":"cancelled"}""", cancelled.Lines[^1]);
        Assert.DoesNotContain(cancelled.Lines, l => l.Contains("\"type\":\"message\"", StringComparison.Ordinal));
        Assert.Equal("Hello", string.Concat(cancelled.Lines.Where(l => l.Contains("chunk", StringComparison.Ordinal)).Select(Text)));
    }

    [Fact]
    public async Task Lines_have_exactly_the_documented_shapes()
    {
        CliResult result = await CliRunner.RunAsync(
            Encoding.UTF8.GetBytes("<|channel|>commentary<|message|>Hi<|end|><|start|>assistant<|channel|>commentary to=functions.f json<|message|>{}<|call|>"),
            "harmony", "parse", "-");

        Assert.Equal(
            [
                """{"type":"chunk","channel":"commentary","text":"H"}""",
                """{"type":"chunk","channel":"commentary","text":"i"}""",
                """{"type":"message","author":"assistant","channel":"commentary","recipient":null,"contentType":null,"route":"commentary","text":"Hi","terminator":"end"}""",
                """{"type":"message","author":"assistant","channel":"commentary","recipient":"functions.f","contentType":"json","route":"tool","text":"{}","terminator":"call"}""",
                """{"type":"toolCall","recipient":"functions.f","channel":"commentary","contentType":"json","arguments":"{}"}""",
                """{"type":"stop","reason":"tool_call"}""",
            ],
            result.Lines);
    }

    [Fact]
    public async Task A_missing_file_is_a_clear_error()
    {
        CliResult result = await CliRunner.RunAsync("harmony", "parse", "/no/such/completion.txt");

        Assert.Equal(1, result.ExitCode);
        Assert.Empty(result.Output);
        Assert.Contains("cannot read /no/such/completion.txt", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_broken_golden_case_is_a_clear_error()
    {
        using TempFile broken = await TempFile.WriteAsync(".json", """{"id":"x"}""");

        CliResult result = await CliRunner.RunAsync("harmony", "parse", broken.Path);

        Assert.Equal(1, result.ExitCode);
        Assert.Empty(result.Output);
        Assert.Contains("Not a golden case", result.Error, StringComparison.Ordinal);
    }

    private static void AssertMatchesExpectation(JsonElement expect, string[] lines)
    {
        foreach (string line in lines)
        {
            Assert.Empty(s_events.Validate(line));
        }

        using JsonDocument stop = JsonDocument.Parse(lines[^1]);
        Assert.Equal("stop", stop.RootElement.GetProperty("type").GetString());
        Assert.Equal(expect.GetProperty("stop").GetString(), stop.RootElement.GetProperty("reason").GetString());

        var messages = new List<string>();
        var visible = new List<string>();
        var chunks = new List<string>();
        string? toolCall = null;
        var run = new StringBuilder();
        string? runChannel = null;
        foreach (string line in lines)
        {
            using JsonDocument document = JsonDocument.Parse(line);
            JsonElement e = document.RootElement;
            switch (e.GetProperty("type").GetString())
            {
                case "chunk":
                    runChannel = e.GetProperty("channel").GetString();
                    run.Append(e.GetProperty("text").GetString());
                    chunks.Add(e.GetProperty("text").GetString()!);
                    break;
                case "message":
                    messages.Add(Canonical(e, "route", "author", "channel", "recipient", "contentType", "text"));
                    Flush();
                    break;
                case "toolCall":
                    toolCall = Canonical(e, "recipient", "channel", "contentType", "arguments");
                    break;
            }
        }

        Flush();
        Assert.Equal(expect.GetProperty("messages").EnumerateArray().Select(m => Canonical(m, "route", "author", "channel", "recipient", "contentType", "text")), messages);
        Assert.Equal(expect.GetProperty("visible").EnumerateArray().Select(v => Canonical(v, "channel", "text")), visible);
        JsonElement expectedCall = expect.GetProperty("toolCall");
        Assert.Equal(expectedCall.ValueKind == JsonValueKind.Null ? null : Canonical(expectedCall, "recipient", "channel", "contentType", "arguments"), toolCall);
        foreach (JsonElement hidden in expect.GetProperty("hiddenTexts").EnumerateArray())
        {
            Assert.DoesNotContain(hidden.GetString()!, string.Concat(chunks), StringComparison.Ordinal);
        }

        void Flush()
        {
            if (run.Length > 0)
            {
                visible.Add(JsonSerializer.Serialize(new[] { runChannel, run.ToString() }));
                run.Clear();
            }
        }
    }

    // The named values as one comparable string; a visible run is compared as [channel, text].
    private static string Canonical(JsonElement element, params string[] names) =>
        JsonSerializer.Serialize(names.Select(n => element.GetProperty(n).ValueKind == JsonValueKind.Null ? null : element.GetProperty(n).GetString()));

    private static string Text(string line)
    {
        using JsonDocument document = JsonDocument.Parse(line);
        return document.RootElement.GetProperty("text").GetString()!;
    }
}
