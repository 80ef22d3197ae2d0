using System.Text;
using Acp.GptOss.Tests.Support;
using LlamaCpp;
using LlamaCpp.Gguf;

namespace Acp.GptOss.Tests.Inference;

/// <summary>
/// The binding's pieces of the plain-text "fast model" path, end to end on real llama.cpp: a model's own chat
/// template rendered by llama.cpp, tokenized with special tokens, generated greedily until an end-of-generation
/// token, and decoded by the streaming UTF-8 decoder, with no Harmony anywhere.
/// </summary>
public sealed class FastModelBindingTests
{
    private static readonly LlamaSamplingOptions s_greedy = new() { Temperature = 0 };
    private static readonly LlamaContextOptions s_context = new() { ContextSize = 1024, Threads = 2 };

    [ModelFact]
    public void The_fast_model_answers_plain_text_through_its_own_chat_template_and_stops_at_end_of_generation()
    {
        using LlamaModel model = Load(TestModels.Fast());
        string template = Assert.IsType<string>(model.ChatTemplate);
        string prompt = LlamaChatTemplate.Apply(template, [("system", "You are terse."), ("user", "Say hi.")], addAssistant: true);
        int[] tokens = Tokenize(model, prompt);
        using var generator = new LlamaGenerator(model, s_context, s_greedy);
        var decoder = new Utf8PieceDecoder(model.Vocabulary);
        var streamed = new StringBuilder();

        int[] answer = [.. generator.Generate(tokens, 64, model.Vocabulary.EndOfGenerationTokens, CancellationToken.None)];
        foreach (int token in answer)
        {
            streamed.Append(decoder.Decode(token));
        }

        streamed.Append(decoder.Flush());

        Assert.Equal(TestModels.FastChatTemplate, template);
        Assert.Equal("<|start|>system<|message|>You are terse.<|end|><|start|>user<|message|>Say hi.<|end|><|start|>assistant", prompt);
        Assert.Equal("assistant", model.Vocabulary.GetText(tokens[^1]));
        Assert.Equal("<|return|>", model.Vocabulary.GetText(answer[^1]));
        Assert.True(model.Vocabulary.IsEndOfGeneration(answer[^1]));
        Assert.DoesNotContain(answer[..^1], model.Vocabulary.IsEndOfGeneration);
        Assert.Equal(TestModels.FastAnswer, streamed.ToString());
    }

    [ModelFact]
    public void An_answer_with_characters_split_across_tokens_streams_whole_characters_only()
    {
        const string Answer = "Grüße 🎉 and 👩‍💻 世界";
        using LlamaModel model = Load(TestModels.Fast(Answer));
        string prompt = LlamaChatTemplate.Apply(model.ChatTemplate!, [("user", "Celebrate.")], addAssistant: true);
        using var generator = new LlamaGenerator(model, s_context, s_greedy);
        var decoder = new Utf8PieceDecoder(model.Vocabulary);
        var pieces = new List<string>();

        int[] answer = [.. generator.Generate(Tokenize(model, prompt), 64, model.Vocabulary.EndOfGenerationTokens, CancellationToken.None)];
        foreach (int token in answer)
        {
            pieces.Add(decoder.Decode(token).ToString());
        }

        // o200k splits both emoji inside their bytes: " \xF0\x9F\x8E" + "\x89", "\xF0\x9F\x91" + "\xA9", ...
        Assert.Contains(answer, token => model.Vocabulary.GetPiece(token) is [0x20, 0xF0, 0x9F, 0x8E]);
        Assert.Equal(Answer, string.Concat(pieces) + decoder.Flush().ToString());
        // Decoding piece by piece without holding back would have turned each emoji's first part into U+FFFD.
        Assert.DoesNotContain(pieces, piece => piece.EnumerateRunes().Any(rune => rune == Rune.ReplacementChar));
    }

    [ModelTheory]
    [InlineData("20F09F8E 89", " |🎉")]
    [InlineData("F09F 8E 89", "||🎉")]
    [InlineData("F0 9F 8E 89", "|||🎉")]
    public void An_emoji_split_over_two_to_four_real_tokens_comes_out_once_with_its_last_token(string pieces, string expected)
    {
        LlamaVocabulary vocabulary = TestModels.VocabularyModel.Vocabulary;
        int[] tokens = [.. pieces.Split(' ').Select(piece => TokenWithPiece(vocabulary, Convert.FromHexString(piece)))];
        var decoder = new Utf8PieceDecoder(vocabulary);

        string[] outputs = [.. tokens.Select(token => decoder.Decode(token).ToString())];

        // A space before the emoji is a whole character: it comes out at once.
        Assert.Equal(expected.Split('|'), outputs);
        Assert.True(decoder.Flush().IsEmpty);
    }

    [ModelFact]
    public void Control_tokens_add_no_text_and_an_unfinished_character_is_flushed_as_a_replacement()
    {
        LlamaVocabulary vocabulary = TestModels.VocabularyModel.Vocabulary;
        var decoder = new Utf8PieceDecoder(vocabulary);
        int[] control = Tokenize(TestModels.VocabularyModel, "<|startoftext|>Hi<|endofprompt|> there<|return|><|endoftext|>");

        string text = decoder.DecodeAll(control);
        string held = decoder.Decode(TokenWithPiece(vocabulary, [0xF0, 0x9F])).ToString();
        string flushed = decoder.Flush().ToString();

        Assert.Equal(4, control.Count(token => vocabulary.GetAttributes(token) == LlamaTokenAttributes.Control));
        Assert.Equal("Hi there", text);
        Assert.Equal(("", "\uFFFD"), (held, flushed));
    }

    [ModelFact]
    public void Llama_cpp_renders_gpt_oss_header_tokens_as_text_because_it_marks_them_user_defined()
    {
        // llama.cpp's vocabulary loader marks <|start|>, <|channel|>, <|message|>, <|constrain|> user-defined in any
        // vocabulary that has them, and <|end|> too once it drops it from the end-of-generation set: the decoder
        // renders what llama.cpp renders, so these come out as text while <|return|> does not.
        LlamaVocabulary vocabulary = TestModels.VocabularyModel.Vocabulary;
        int[] harmony = Tokenize(TestModels.VocabularyModel, "<|start|>assistant<|channel|>final<|message|>Hi<|end|><|return|>");

        string text = new Utf8PieceDecoder(vocabulary).DecodeAll(harmony);

        Assert.Equal("<|start|>assistant<|channel|>final<|message|>Hi<|end|>", text);
        Assert.Equal(LlamaTokenAttributes.UserDefined, vocabulary.GetAttributes(harmony[0]));
        Assert.Equal(LlamaTokenAttributes.Control, vocabulary.GetAttributes(harmony[^1]));
    }

    [ModelFact]
    public void The_end_of_generation_tokens_of_o200k_harmony_are_return_call_and_endoftext_but_not_end()
    {
        LlamaVocabulary vocabulary = TestModels.VocabularyModel.Vocabulary;

        string[] names = [.. vocabulary.EndOfGenerationTokens.ToArray().Select(vocabulary.GetText)];

        // llama.cpp drops <|end|> from the set when a vocabulary has both <|return|> and <|call|>.
        Assert.Equal(["<|endoftext|>", "<|return|>", "<|call|>"], names);
        Assert.All(vocabulary.EndOfGenerationTokens.ToArray(), token => Assert.True(vocabulary.IsEndOfGeneration(token)));
        Assert.False(vocabulary.IsEndOfGeneration(Tokenize(TestModels.VocabularyModel, "<|end|>").Single()));
        Assert.False(vocabulary.IsEndOfGeneration(Tokenize(TestModels.VocabularyModel, "Hi").Single()));
        Assert.False(vocabulary.IsEndOfGeneration(-1));
        Assert.False(vocabulary.IsEndOfGeneration(vocabulary.Count));
    }

    [ModelFact]
    public void A_model_without_a_chat_template_says_so()
    {
        using LlamaModel model = Load(TestModels.Chain("<|channel|>final<|message|>Hello world<|return|>"));

        Assert.Null(model.ChatTemplate);
    }

    [ModelFact]
    public async Task Make_model_writes_the_chat_template_it_is_given_and_llama_cpp_reads_it_back()
    {
        string path = Path.Combine(Path.GetTempPath(), $"acp-gptoss-{Guid.NewGuid():N}.gguf");
        try
        {
            CliResult result = await CliRunner.RunAsync(
                "dev", "make-model", "--vocabulary", TestModels.VocabularyJson, "--out", path, "--chain", "Hi<|return|>", "--chat-template", TestModels.FastChatTemplate);

            Assert.Equal(0, result.ExitCode);
            Assert.Equal(TestModels.FastChatTemplate, GgufFile.Read(path).GetString("tokenizer.chat_template"));
            using LlamaModel model = Load(path);
            Assert.Equal(TestModels.FastChatTemplate, model.ChatTemplate);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [ModelFact]
    public async Task Make_model_refuses_a_chat_template_without_a_chain()
    {
        string path = Path.Combine(Path.GetTempPath(), $"acp-gptoss-{Guid.NewGuid():N}.gguf");

        CliResult result = await CliRunner.RunAsync("dev", "make-model", "--vocabulary", TestModels.VocabularyJson, "--out", path, "--chat-template", "chatml");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("--chat-template needs --chain", result.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(path));
    }

    private static LlamaModel Load(string path) => LlamaModel.Load(LlamaBackend.Initialize(), path, new LlamaModelOptions { RequiredArchitecture = "gpt-oss" });

    private static int[] Tokenize(LlamaModel model, string text)
    {
        var tokens = new List<int>();
        model.Vocabulary.Tokenize(Encoding.UTF8.GetBytes(text), tokens, parseSpecial: true);
        return [.. tokens];
    }

    // The byte-level vocabulary has a token for every byte and for many byte runs; tests pick them by their bytes.
    private static int TokenWithPiece(LlamaVocabulary vocabulary, byte[] piece)
    {
        for (int token = 0; token < vocabulary.Count; token++)
        {
            if (vocabulary.GetPiece(token).SequenceEqual(piece))
            {
                return token;
            }
        }

        throw new InvalidOperationException($"No token of the vocabulary is the bytes {Convert.ToHexString(piece)}.");
    }
}
