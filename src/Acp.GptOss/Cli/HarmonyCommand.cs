using System.Buffers;
using System.CommandLine;
using System.Text;
using Acp.GptOss.Hosting;
using Acp.GptOss.Inference;
using Acp.GptOss.Inference.Llama;
using Harmony;
using Harmony.Conversations;
using Harmony.Parsing;
using Harmony.Rendering;
using Harmony.Tokenizers;
using LlamaCpp;
using Microsoft.Extensions.Logging;

namespace Acp.GptOss.Cli;

/// <summary><c>acp-gptoss harmony parse|render</c>: the Harmony library on the command line, for inspection and goldens.</summary>
internal static class HarmonyCommand
{
    public static Command Create(StdioStreams streams, Func<ILoggerFactory> loggers)
    {
        var parse = new Command("parse", "Parse a completion and print the parser's events as JSON lines.");
        var completionFile = new Argument<string>("FILE")
        {
            Description = "A completion written with literal special-token spellings (- for stdin; a final newline is ignored), "
                + "or a golden case (.json).",
        };
        var cancel = new Option<bool>("--cancel") { Description = "Cancel after the last token instead of ending the stream." };
        Option<string?> parseVocabulary = VocabularyOption("instead of one token per byte");
        parse.Arguments.Add(completionFile);
        parse.Options.Add(cancel);
        parse.Options.Add(parseVocabulary);
        parse.SetAction((result, token) => ParseAsync(
            result.GetValue(completionFile)!, result.GetValue(cancel), result.GetValue(parseVocabulary), streams, loggers, token));

        var render = new Command("render", "Render a conversation (schemas/harmony-conversation.schema.json) for completion.");
        var conversationFile = new Argument<string>("CONVERSATION") { Description = "The conversation, as JSON (- for stdin)." };
        var ids = new Option<bool>("--ids")
        {
            Description = "Print token ids, one per line, instead of text with literal special spellings: o200k_harmony's, built in, unless --vocab names a GGUF.",
        };
        Option<string?> renderVocabulary = VocabularyOption("instead of the built-in o200k_harmony");
        render.Arguments.Add(conversationFile);
        render.Options.Add(ids);
        render.Options.Add(renderVocabulary);
        render.SetAction((result, token) => RenderAsync(
            result.GetValue(conversationFile)!, result.GetValue(ids), result.GetValue(renderVocabulary), streams, loggers, token));

        var harmony = new Command("harmony", "Inspect the Harmony format: parse completions, render conversations.");
        harmony.Subcommands.Add(parse);
        harmony.Subcommands.Add(render);
        return harmony;
    }

    private static Option<string?> VocabularyOption(string otherwise) => new("--vocab")
    {
        Description = $"Tokenize with this GGUF's own vocabulary (loaded without weights) {otherwise}.",
    };

    private static async Task<int> ParseAsync(
        string path, bool cancel, string? vocabulary, StdioStreams streams, Func<ILoggerFactory> loggers, CancellationToken cancellationToken)
    {
        byte[]? content = await ReadInputAsync(path, streams, cancellationToken).ConfigureAwait(false);
        using Vocabulary? loaded = await LoadVocabularyAsync(vocabulary, streams, loggers).ConfigureAwait(false);
        if (content is null || (vocabulary is not null && loaded is null))
        {
            return ExitCodes.InputError;
        }

        IHarmonyTokenizer tokenizer = loaded?.Tokenizer ?? O200kByteTokenizer.Instance;
        CompletionInput input;
        try
        {
            input = CompletionInput.FromFile(path, content, tokenizer);
        }
        catch (FormatException e)
        {
            await streams.Error.WriteLineAsync($"acp-gptoss: {path}: {e.Message}").ConfigureAwait(false);
            return ExitCodes.InputError;
        }

        ReadOnlyMemory<byte> lines = ParseEvents(input, tokenizer, cancel, loggers().CreateLogger("Harmony.Parser"));
        await streams.Output.WriteAsync(lines, cancellationToken).ConfigureAwait(false);
        await streams.Output.FlushAsync(cancellationToken).ConfigureAwait(false);
        return ExitCodes.Success;
    }

    /// <summary>What <c>harmony parse</c> prints for <paramref name="input"/>: its parse events, one JSON object per line.</summary>
    /// <param name="input">The completion's token ids.</param>
    /// <param name="tokenizer">The vocabulary they are ids of.</param>
    /// <param name="cancel">End as a cancel would, whatever the input says.</param>
    /// <param name="logger">Where the parser reports what it had to repair.</param>
    internal static ReadOnlyMemory<byte> ParseEvents(CompletionInput input, IHarmonyTokenizer tokenizer, bool cancel, ILogger logger)
    {
        var lines = new ArrayBufferWriter<byte>(input.Tokens.Length * 48);
        using (var writer = new ParseEventWriter(lines, logger))
        {
            var parser = new HarmonyStreamParser(tokenizer, writer);
            parser.Push(input.Tokens);
            if (cancel || input.CancelAfterLast)
            {
                parser.Cancel();
            }
            else
            {
                parser.Finish();
            }
        }

        return lines.WrittenMemory;
    }

    private static async Task<int> RenderAsync(
        string path, bool ids, string? vocabulary, StdioStreams streams, Func<ILoggerFactory> loggers, CancellationToken cancellationToken)
    {
        byte[]? content = await ReadInputAsync(path, streams, cancellationToken).ConfigureAwait(false);
        using Vocabulary? loaded = await LoadVocabularyAsync(vocabulary, streams, loggers).ConfigureAwait(false);
        if (content is null || (vocabulary is not null && loaded is null))
        {
            return ExitCodes.InputError;
        }

        HarmonyConversation conversation;
        try
        {
            conversation = HarmonyConversationJson.Parse(content);
        }
        catch (FormatException e)
        {
            await streams.Error.WriteLineAsync($"acp-gptoss: {path}: {e.Message}").ConfigureAwait(false);
            return ExitCodes.InputError;
        }

        // Text needs only the special spellings; ids need the real vocabulary, built in unless a GGUF is named.
        IHarmonyTokenizer tokenizer = loaded?.Tokenizer
            ?? (ids ? await O200kHarmonyTokenizer.LoadSharedAsync(cancellationToken).ConfigureAwait(false) : O200kByteTokenizer.Instance);
        var encoding = new HarmonyEncoding(tokenizer);
        string text = ids
            ? string.Join('\n', encoding.RenderForCompletion(conversation)) + "\n"
            : encoding.RenderForCompletionText(conversation);
        await streams.Output.WriteAsync(Encoding.UTF8.GetBytes(text), cancellationToken).ConfigureAwait(false);
        await streams.Output.FlushAsync(cancellationToken).ConfigureAwait(false);
        return ExitCodes.Success;
    }

    // Null, with the reason on stderr, when the file is no GPT-OSS vocabulary.
    private static async Task<Vocabulary?> LoadVocabularyAsync(string? path, StdioStreams streams, Func<ILoggerFactory> loggers)
    {
        if (path is null)
        {
            return null;
        }

        try
        {
            (LlamaModel model, LlamaTokenizer tokenizer) = VocabularyTokenizer.Load(path, loggers().CreateLogger("Acp.GptOss.Inference.Llama"));
            return new Vocabulary(model, tokenizer);
        }
        catch (InferenceException e)
        {
            await streams.Error.WriteLineAsync($"acp-gptoss: --vocab {e.Message}").ConfigureAwait(false);
            return null;
        }
    }

    private sealed record Vocabulary(LlamaModel Model, IHarmonyTokenizer Tokenizer) : IDisposable
    {
        public void Dispose() => Model.Dispose();
    }

    private static async Task<byte[]?> ReadInputAsync(string path, StdioStreams streams, CancellationToken cancellationToken)
    {
        try
        {
            if (path == "-")
            {
                using var buffer = new MemoryStream();
                await streams.Input.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
                return buffer.ToArray();
            }

            return await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            await streams.Error.WriteLineAsync($"acp-gptoss: cannot read {path}: {e.Message}").ConfigureAwait(false);
            return null;
        }
    }
}
