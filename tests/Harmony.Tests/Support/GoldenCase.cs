using System.Text;
using System.Text.Json;
using Harmony.Parsing;

namespace Harmony.Tests.Support;

/// <summary>A streaming-parser golden case (golden/harmony/README.md, schemas/harmony-golden-case.schema.json).</summary>
internal sealed record GoldenCase(
    string Id,
    string Raw,
    IReadOnlyList<string>? Pieces,
    bool PiecesHaveByteEscapes,
    IReadOnlyList<int>? Ids,
    bool CancelAfterLast,
    GoldenExpectation Expect)
{
    public static string Directory => Path.Combine(AppContext.BaseDirectory, "golden", "harmony");

    public static IEnumerable<string> Files() => System.IO.Directory.EnumerateFiles(Directory, "*.json").Order(StringComparer.Ordinal);

    public static GoldenCase Load(string path)
    {
        using JsonDocument document = JsonDocument.Parse(File.ReadAllBytes(path));
        JsonElement root = document.RootElement;
        JsonElement expect = root.GetProperty("expect");
        return new GoldenCase(
            root.GetProperty("id").GetString()!,
            root.GetProperty("raw").GetString()!,
            root.TryGetProperty("pieces", out JsonElement pieces) ? [.. pieces.EnumerateArray().Select(p => p.GetString()!)] : null,
            root.TryGetProperty("piecesHaveByteEscapes", out JsonElement escapes) && escapes.GetBoolean(),
            root.TryGetProperty("ids", out JsonElement ids) ? [.. ids.EnumerateArray().Select(i => i.GetInt32())] : null,
            root.TryGetProperty("cancelAfterLast", out JsonElement cancel) && cancel.GetBoolean(),
            new GoldenExpectation(
                [.. expect.GetProperty("messages").EnumerateArray().Select(m => new GoldenMessage(
                    m.GetProperty("route").GetString()!,
                    m.GetProperty("author").GetString()!,
                    m.GetProperty("channel").GetString(),
                    m.GetProperty("recipient").GetString(),
                    m.GetProperty("contentType").GetString(),
                    m.GetProperty("text").GetString()!))],
                [.. expect.GetProperty("visible").EnumerateArray().Select(v => (v.GetProperty("channel").GetString()!, v.GetProperty("text").GetString()!))],
                [.. expect.GetProperty("hiddenTexts").EnumerateArray().Select(h => h.GetString()!)],
                expect.GetProperty("toolCall").ValueKind == JsonValueKind.Null
                    ? null
                    : new RecordedToolCall(
                        expect.GetProperty("toolCall").GetProperty("recipient").GetString()!,
                        expect.GetProperty("toolCall").GetProperty("channel").GetString(),
                        expect.GetProperty("toolCall").GetProperty("contentType").GetString(),
                        expect.GetProperty("toolCall").GetProperty("arguments").GetString()!),
                expect.GetProperty("stop").GetString()!));
    }

    /// <summary>The tokens to feed: the given ids, the pieces one token each, or the raw text tokenized.</summary>
    public int[] Tokens(PieceTokenizer tokenizer)
    {
        if (Ids is not null)
        {
            return [.. Ids];
        }

        var tokens = new List<int>();
        if (Pieces is null)
        {
            HarmonyLiteralText.Tokenize(Raw, tokenizer, tokens);
            return [.. tokens];
        }

        foreach (string piece in Pieces)
        {
            if (tokenizer.SpecialTokens.TryGetId(piece, out int special))
            {
                tokens.Add(special);
            }
            else
            {
                byte[] bytes = PiecesHaveByteEscapes ? HarmonyLiteralText.DecodeByteEscapes(piece) : Encoding.UTF8.GetBytes(piece);
                tokens.Add(tokenizer.GetOrAdd(bytes));
            }
        }

        return [.. tokens];
    }

    public override string ToString() => Id;
}

internal sealed record GoldenExpectation(
    IReadOnlyList<GoldenMessage> Messages,
    IReadOnlyList<(string Channel, string Text)> Visible,
    IReadOnlyList<string> HiddenTexts,
    RecordedToolCall? ToolCall,
    string Stop);

internal sealed record GoldenMessage(string Route, string Author, string? Channel, string? Recipient, string? ContentType, string Text)
{
    public static GoldenMessage From(RecordedMessage message) => new(
        Names.Route(message.Header.Route),
        message.Header.Author,
        message.Header.Channel,
        message.Header.Recipient,
        message.Header.ContentType,
        message.Text);
}

/// <summary>The wire names of the parser's enums, as the golden files and the CLI write them.</summary>
internal static class Names
{
    public static string Route(HarmonyRoute route) => route.ToString().ToLowerInvariant();

    public static string Stop(HarmonyStopReason reason) => reason switch
    {
        HarmonyStopReason.EndTurn => "end_turn",
        HarmonyStopReason.ToolCall => "tool_call",
        HarmonyStopReason.MaxTokens => "max_tokens",
        _ => "cancelled",
    };
}
