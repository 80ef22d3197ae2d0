using System.Runtime.CompilerServices;
using Acp.GptOss.Inference;
using Harmony;
using Harmony.Conversations;
using Harmony.Rendering;

namespace Acp.GptOss.Completions;

/// <summary>
/// One model call on an <see cref="IInferenceSession"/>, as a stream of <see cref="CompletionEvent"/>s: a Harmony
/// conversation rendered by our renderer (<see cref="StreamChatAsync"/>), or a prompt the caller rendered itself
/// (<see cref="StreamRawAsync"/>). No HTTP, no ACP: the API, <c>infer</c> and anything else built on it map the events.
/// </summary>
/// <remarks>
/// Each id is decoded as it arrives, on the engine's thread, as the agent's turn does (docs/architecture.md). A
/// cancel reaches the engine through the token (its native abort) and ends the stream with
/// <see cref="CompletionFinishReason.Cancelled"/> instead of throwing; an engine failure throws
/// <see cref="InferenceException"/>. The session runs one generation at a time: the caller owns it meanwhile.
/// </remarks>
internal static class CompletionRunner
{
    /// <summary>Renders <paramref name="conversation"/> for completion and streams what the model answers.</summary>
    /// <exception cref="PromptTooLongException">The prompt leaves no room in the context.</exception>
    /// <exception cref="InferenceException">The engine failed.</exception>
    public static IAsyncEnumerable<CompletionEvent> StreamChatAsync(
        IInferenceSession session, HarmonyConversation conversation, CompletionOptions options, CancellationToken cancellationToken)
    {
        int[] prompt = new HarmonyEncoding(session.Tokenizer).RenderForCompletion(conversation);
        var decoder = new HarmonyCompletionDecoder(session.Tokenizer, conversation.Developer?.Tools ?? [], options.StopSequences);
        return RunAsync(session, prompt, conversation, decoder, options, cancellationToken);
    }

    /// <summary>
    /// Streams the completion of <paramref name="promptText"/>, in which literal special spellings
    /// (<c>&lt;|start|&gt;</c>) are special ids; the answer is text with the same spellings (<see cref="RawTextDecoder"/>).
    /// </summary>
    /// <exception cref="PromptTooLongException">The prompt leaves no room in the context.</exception>
    /// <exception cref="InferenceException">The engine failed.</exception>
    public static IAsyncEnumerable<CompletionEvent> StreamRawAsync(
        IInferenceSession session, string promptText, CompletionOptions options, CancellationToken cancellationToken)
    {
        var tokens = new List<int>(promptText.Length / 3);
        HarmonyLiteralText.Tokenize(promptText, session.Tokenizer, tokens);
        return RunAsync(session, [.. tokens], null, new RawTextDecoder(session.Tokenizer, options.StopSequences), options, cancellationToken);
    }

    private static async IAsyncEnumerable<CompletionEvent> RunAsync(
        IInferenceSession session, int[] prompt, HarmonyConversation? conversation, ICompletionDecoder decoder, CompletionOptions options,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        int room = session.ContextSize - prompt.Length;
        if (room < 1 || prompt.Length == 0)
        {
            throw new PromptTooLongException(prompt.Length, session.ContextSize);
        }

        int[] samplingStops = session.Tokenizer.SpecialTokens.SamplingStops.ToArray();
        int[] callerStops = [.. options.StopTokens.Where(t => !samplingStops.Contains(t))];
        var generation = new GenerationOptions(Math.Max(1, Math.Min(options.MaxTokens, room)), (int[])[.. samplingStops, .. callerStops])
        {
            Temperature = options.Temperature,
            TopP = options.TopP,
            Seed = options.Seed,
            Conversation = conversation,
        };

        var events = new List<CompletionEvent>();
        int generated = 0;
        bool cancelled = false;
        bool callerStop = false;
        IAsyncEnumerator<int> tokens = session.GenerateAsync(prompt, generation, cancellationToken).GetAsyncEnumerator(cancellationToken);
        await using (tokens.ConfigureAwait(false))
        {
            while (true)
            {
                try
                {
                    if (!await tokens.MoveNextAsync().ConfigureAwait(false))
                    {
                        break;
                    }
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    cancelled = true;
                    break;
                }

                int token = tokens.Current;
                generated++;
                if (callerStops.Contains(token))
                {
                    callerStop = true;
                    break;
                }

                decoder.Push(token);
                decoder.TakeEvents(events);
                foreach (CompletionEvent e in events)
                {
                    yield return e;
                }

                events.Clear();
                if (decoder.IsStopped)
                {
                    // A tool call or a stop sequence ends the call before the engine would: disposing the stream stops it.
                    break;
                }
            }
        }

        if (cancelled)
        {
            decoder.Cancel();
        }
        else if (!decoder.IsStopped)
        {
            decoder.Finish();
        }

        decoder.TakeEvents(events);
        foreach (CompletionEvent e in events)
        {
            yield return e;
        }

        CompletionFinishReason reason = callerStop && !cancelled ? CompletionFinishReason.Stop : decoder.FinishReason;
        yield return new CompletionEnded(reason, new CompletionUsage(prompt.Length, generated));
    }
}
