using Acp.GptOss.Inference.Remote;
using Harmony;
using Harmony.Tokenizers;

namespace Acp.GptOss.Tests.Support;

/// <summary>What the remote dialects' tests share: the vocabulary, Harmony ids, a request, a server on a fake.</summary>
internal static class FakeServingEngineKit
{
    /// <summary>A Harmony completion as the model writes it after <c>&lt;|start|&gt;assistant</c>.</summary>
    public const string Answer =
        "<|channel|>analysis<|message|>User asks: \"What is 2 + 2?\" Simple arithmetic.<|end|><|start|>assistant<|channel|>final<|message|>2 + 2 = 4. ✓<|return|>";

    /// <summary>A completion that ends in a tool call.</summary>
    public const string Call =
        "<|channel|>analysis<|message|>Need to read the file.<|end|><|start|>assistant<|channel|>commentary to=functions.read_file <|constrain|>json<|message|>{\"path\":\"a.txt\"}<|call|>";

    /// <summary>The built-in o200k_harmony vocabulary, as the remote engine uses it.</summary>
    public static Task<O200kHarmonyTokenizer> TokenizerAsync() => O200kHarmonyTokenizer.LoadSharedAsync(CancellationToken.None);

    /// <summary>The ids of Harmony text with literal special spellings, in the built-in vocabulary.</summary>
    public static async Task<int[]> IdsAsync(string literal)
    {
        var tokens = new List<int>();
        HarmonyLiteralText.Tokenize(literal, await TokenizerAsync(), tokens);
        return [.. tokens];
    }

    /// <summary>A request for the completion of a short prompt, with GPT-OSS's sampling stops.</summary>
    public static async Task<RemoteRequest> RequestAsync(Harmony.Conversations.HarmonyConversation? conversation = null, uint? seed = 7)
    {
        int[] prompt = await IdsAsync("<|start|>system<|message|>Reasoning: low<|end|><|start|>user<|message|>What is 2 + 2?<|end|><|start|>assistant");
        return new RemoteRequest(prompt, conversation, 256, HarmonySpecialTokens.O200kHarmony.SamplingStops.ToArray(), 0.5f, 0.9f, seed, await TokenizerAsync());
    }

    /// <summary>A server at a made-up address whose requests go to <paramref name="fake"/>.</summary>
    public static RemoteServer Server(FakeServingEngine fake, string endpoint = "http://gpu-box:8000/") =>
        new(new RemoteEngineOptions { Endpoint = new Uri(endpoint) }, fake);

    /// <summary>Reads a whole completion.</summary>
    public static async Task<List<int>> CollectAsync(IAsyncEnumerable<int> tokens, CancellationToken cancellationToken = default)
    {
        var all = new List<int>();
        await foreach (int token in tokens.WithCancellation(cancellationToken))
        {
            all.Add(token);
        }

        return all;
    }

    /// <summary><paramref name="ids"/> in pieces of <paramref name="size"/>, as a server streams several tokens an event.</summary>
    public static IEnumerable<int[]> Chunks(int[] ids, int size) => ids.Chunk(size);

    /// <summary>
    /// Reads the two tokens the fake's <paramref name="stream"/> sends first, cancels, and checks that the next read
    /// throws and that the server's response is closed before its end.
    /// </summary>
    public static async Task AssertCancelClosesTheResponseAsync(IRemoteDialect dialect, RemoteModelInfo info, RemoteServer server, FakeServingEngineStream stream)
    {
        using var cancel = new CancellationTokenSource();
        IAsyncEnumerator<int> tokens = dialect.GenerateAsync(server, info, await RequestAsync(), cancel.Token).GetAsyncEnumerator(cancel.Token);
        try
        {
            Assert.True(await tokens.MoveNextAsync());
            Assert.True(await tokens.MoveNextAsync());
            cancel.Cancel();

            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await tokens.MoveNextAsync());
        }
        finally
        {
            await tokens.DisposeAsync();
        }

        await stream.Abandoned.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.False(stream.ReadToEnd);
    }
}
