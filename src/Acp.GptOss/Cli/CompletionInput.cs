using System.Text;
using System.Text.Json;
using Harmony;
using Harmony.Rendering;

namespace Acp.GptOss.Cli;

/// <summary>
/// What <c>harmony parse</c> feeds the parser. A file is a completion written with literal special spellings; a
/// <c>.json</c> file is a golden case (schemas/harmony-golden-case.schema.json), whose pieces, ids and cancel flag
/// are honoured.
/// </summary>
internal sealed record CompletionInput(int[] Tokens, bool CancelAfterLast)
{
    /// <exception cref="FormatException">A golden case that cannot be read.</exception>
    public static CompletionInput FromFile(string path, byte[] content, IHarmonyTokenizer tokenizer) =>
        path.EndsWith(".json", StringComparison.OrdinalIgnoreCase) ? FromGoldenCase(content, tokenizer) : FromCompletion(content, tokenizer);

    public static CompletionInput FromCompletion(ReadOnlySpan<byte> content, IHarmonyTokenizer tokenizer)
    {
        // A text file ends with a newline that is not part of the completion.
        if (content.EndsWith("\n"u8))
        {
            content = content[..^(content.EndsWith("\r\n"u8) ? 2 : 1)];
        }

        var tokens = new List<int>(content.Length);
        HarmonyLiteralText.Tokenize(content, tokenizer, tokens);
        return new CompletionInput([.. tokens], CancelAfterLast: false);
    }

    private static CompletionInput FromGoldenCase(byte[] content, IHarmonyTokenizer tokenizer)
    {
        try
        {
            using JsonDocument document = JsonDocument.Parse(content);
            JsonElement root = document.RootElement;
            bool cancel = root.TryGetProperty("cancelAfterLast", out JsonElement c) && c.GetBoolean();
            var tokens = new List<int>();
            if (root.TryGetProperty("ids", out JsonElement ids))
            {
                foreach (JsonElement id in ids.EnumerateArray())
                {
                    int token = id.GetInt32();
                    if (tokenizer.SpecialTokens.IsOrdinary(token) && tokenizer.GetTokenBytes(token).IsEmpty)
                    {
                        throw new FormatException($"The case gives token id {token}, which this vocabulary cannot decode.");
                    }

                    tokens.Add(token);
                }
            }
            else if (root.TryGetProperty("pieces", out JsonElement pieces))
            {
                bool escapes = root.TryGetProperty("piecesHaveByteEscapes", out JsonElement e) && e.GetBoolean();
                var encoding = new HarmonyEncoding(tokenizer);
                foreach (JsonElement piece in pieces.EnumerateArray())
                {
                    string text = piece.GetString() ?? "";
                    if (tokenizer.SpecialTokens.TryGetId(text, out int special))
                    {
                        tokens.Add(special);
                    }
                    else
                    {
                        // A piece is ordinary text as a whole, even if it spells a special token in part.
                        encoding.EncodeOrdinary(escapes ? HarmonyLiteralText.DecodeByteEscapes(text) : Encoding.UTF8.GetBytes(text), tokens);
                    }
                }
            }
            else
            {
                string raw = root.GetProperty("raw").GetString() ?? "";
                HarmonyLiteralText.Tokenize(raw, tokenizer, tokens);
            }

            return new CompletionInput([.. tokens], cancel);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or KeyNotFoundException or FormatException)
        {
            throw new FormatException($"Not a golden case: {e.Message}", e);
        }
    }
}
