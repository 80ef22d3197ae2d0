using System.Text;
using Harmony.Conversations;

namespace Harmony.Tests;

public sealed class SupportTypeTests
{
    [Fact]
    public void Byte_tokens_are_the_real_o200k_single_byte_ids()
    {
        // From the vocabulary: "<" 27, "|" 91, ">" 29, " " 220, "!" 0.
        Assert.Equal([27, 91, 29, 220, 0], "<|> !"u8.ToArray().Select(O200kByteTokenizer.GetByteToken));
        Assert.Equal(Enumerable.Range(0, 256), Enumerable.Range(0, 256).Select(b => O200kByteTokenizer.GetByteToken((byte)b)).Order());
        Assert.True(O200kByteTokenizer.Instance.GetTokenBytes(256).IsEmpty);
        Assert.True(O200kByteTokenizer.Instance.GetTokenBytes(-5).IsEmpty);
    }

    [Fact]
    public void Special_tokens_have_their_o200k_harmony_ids_and_spellings()
    {
        HarmonySpecialTokens specials = HarmonySpecialTokens.O200kHarmony;

        Assert.Equal(
            [200006, 200007, 200008, 200005, 200003, 200002, 200012, 199999],
            [specials.Start, specials.End, specials.Message, specials.Channel, specials.Constrain, specials.Return, specials.Call, specials.EndOfText]);
        Assert.Equal("<|channel|>", specials.GetSpelling(200005));
        Assert.Equal("<|reserved_200013|>", specials.GetSpelling(200013));
        Assert.Equal("<|endofprompt|>", specials.GetSpelling(200018));
        Assert.True(specials.TryGetId("<|return|>", out int id) && id == 200002);
        Assert.False(specials.TryGetId("<|nope|>", out _));
        Assert.Null(specials.GetSpelling(42));
    }

    [Fact]
    public void Literal_text_turns_known_spellings_into_specials_and_keeps_the_rest()
    {
        var tokens = new List<int>();
        HarmonyLiteralText.Tokenize("a<|end|><|nope|><|<|start|>", O200kByteTokenizer.Instance, tokens);

        Assert.Equal(1 + 1 + "<|nope|><|".Length + 1, tokens.Count);
        Assert.Equal(200007, tokens[1]);
        Assert.Equal(200006, tokens[^1]);
        Assert.Equal("a<|end|><|nope|><|<|start|>", HarmonyLiteralText.Render([.. tokens], O200kByteTokenizer.Instance));
    }

    [Fact]
    public void Literal_text_keeps_bytes_that_are_not_utf8()
    {
        var tokens = new List<int>();
        HarmonyLiteralText.Tokenize([(byte)'<', (byte)'|', 0xE2, 0x98], O200kByteTokenizer.Instance, tokens);

        Assert.Equal([27, 91, O200kByteTokenizer.GetByteToken(0xE2), O200kByteTokenizer.GetByteToken(0x98)], tokens);
    }

    [Fact]
    public void Byte_escapes_decode_to_raw_bytes()
    {
        Assert.Equal([0x20, 0xE2, 0x98], HarmonyLiteralText.DecodeByteEscapes(" \\xe2\\x98"));
        Assert.Equal(Encoding.UTF8.GetBytes("café 💖 \\xZZ"), HarmonyLiteralText.DecodeByteEscapes("café 💖 \\xZZ"));
    }

    [Fact]
    public void Conversation_json_reads_every_field()
    {
        HarmonyConversation conversation = HarmonyConversationJson.Parse("""
            {
              "system": { "modelIdentity": "Me.", "knowledgeCutoff": null, "currentDate": "2026-01-02", "reasoningEffort": "high" },
              "developer": { "instructions": "Be kind.", "tools": [ { "name": "f", "description": "Does f.", "parameters": { "type": "object" } } ] },
              "messages": [
                { "role": "user", "content": "hi" },
                { "role": "assistant", "channel": "commentary", "recipient": "functions.f", "contentType": "json", "content": "{}" },
                { "role": "tool", "author": "functions.f", "content": "ok" },
                { "role": "assistant", "channel": "final", "content": "done" }
              ]
            }
            """u8.ToArray());

        Assert.Equal(new HarmonySystemContent { ModelIdentity = "Me.", KnowledgeCutoff = null, CurrentDate = new DateOnly(2026, 1, 2), ReasoningEffort = ReasoningEffort.High }, conversation.System);
        Assert.Equal("Be kind.", conversation.Developer!.Instructions);
        Assert.Equal("f", Assert.Single(conversation.Developer.Tools).Name);
        Assert.Equal(
            [HarmonyMessage.User("hi"), HarmonyMessage.ToolCall("functions.f", "{}", HarmonyChannel.Commentary, "json"),
             HarmonyMessage.ToolResult("functions.f", "ok"), HarmonyMessage.Assistant(HarmonyChannel.Final, "done")],
            conversation.Messages);
    }

    [Theory]
    [InlineData("{", "Not valid JSON")]
    [InlineData("[]", "$: expected an object")]
    [InlineData("{}", "$.messages: an array of messages is required")]
    [InlineData("""{"messages":[{"role":"robot","content":"x"}]}""", "$.messages[0].role: expected user, assistant or tool")]
    [InlineData("""{"messages":[{"role":"assistant","content":"x"}]}""", "$.messages[0].channel is required")]
    [InlineData("""{"messages":[{"role":"tool","content":"x"}]}""", "$.messages[0].author is required")]
    [InlineData("""{"messages":[{"role":"user","content":"x","channel":"final"}]}""", "$.messages[0].channel does not belong in a user message")]
    [InlineData("""{"messages":[],"sytem":{}}""", "$.sytem: unknown property")]
    [InlineData("""{"messages":[],"system":{"currentDate":"05/08/2025"}}""", "$.system.currentDate: expected a date as YYYY-MM-DD")]
    [InlineData("""{"messages":[],"system":{"reasoningEffort":"max"}}""", "$.system.reasoningEffort: expected low, medium or high")]
    [InlineData("""{"messages":[{"role":"user","content":5}]}""", "$.messages[0].content: expected a string")]
    public void Conversation_json_errors_say_where(string json, string message)
    {
        var error = Assert.Throws<FormatException>(() => HarmonyConversationJson.Parse(Encoding.UTF8.GetBytes(json)));

        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }
}
