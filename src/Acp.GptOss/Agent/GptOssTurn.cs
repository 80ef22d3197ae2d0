using Acp.GptOss.Agent.FirstRun;
using Acp.GptOss.Inference;
using Acp.Protocol;
using Harmony.Conversations;
using Harmony.Parsing;
using Harmony.Rendering;
using Microsoft.Extensions.Logging;

namespace Acp.GptOss.Agent;

/// <summary>
/// One prompt turn on GPT-OSS: render the conversation, stream the model's tokens through the turn mapper, send what
/// the user should see, answer tool calls, and call the model again until it is done, the budget runs out, the cap
/// on model calls is reached, or the turn is cancelled. Returns how the turn ended.
/// </summary>
/// <param name="session">The session the turn runs in: its settings, engine state, tools and ids.</param>
/// <param name="history">The session's conversation, whose last message is the user's prompt; the turn adds to it.</param>
/// <param name="client">Where updates go.</param>
/// <param name="options">Budgets and the date.</param>
/// <param name="logger">The agent's log.</param>
internal sealed partial class GptOssTurn(AgentSession session, ConversationHistory history, IAcpClient client, AgentOptions options, ILogger logger)
{
    // What the turn ran on, kept for SaveStateAsync: null when it ended before the model could run.
    private (IInferenceSession Inference, IReadOnlyList<HarmonyFunctionTool> Tools)? _ran;

    public async Task<StopReason> RunAsync(CancellationToken cancellationToken)
    {
        IInferenceSession inference;
        IReadOnlyList<HarmonyFunctionTool> tools;
        try
        {
            try
            {
                inference = await session.GetInferenceAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (ModelNotDownloadedException missing)
            {
                // No model yet, but one can be downloaded: the user is asked first (docs/models.md §9).
                if (await new FirstRunDownload(session, client, logger).RunAsync(missing.Download, cancellationToken).ConfigureAwait(false) is { } ended)
                {
                    return ended;
                }

                inference = await session.GetInferenceAsync(cancellationToken).ConfigureAwait(false);
            }

            // Waits for the session's MCP servers the first time.
            tools = await session.Tools.GetDeclarationsAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return StopReason.Cancelled;
        }

        _ran = (inference, tools);
        var encoding = new HarmonyEncoding(inference.Tokenizer);
        var fitter = new ContextFitter(encoding, inference.ContextSize, options.MaxTokens);
        var turn = new TurnState(session.NextMessageId);
        var runner = new ToolCallRunner(session, client, logger);
        for (int round = 1; ; round++)
        {
            if (cancellationToken.IsCancellationRequested)
            {
                return StopReason.Cancelled;
            }

            SessionSettings settings = session.Settings;
            HarmonyConversation conversation = Conversation(settings, tools, history.Messages);
            int[] prompt = encoding.RenderForCompletion(conversation);
            if (!fitter.Fits(prompt))
            {
                ContextFit fit = fitter.Compact(history, messages => Conversation(settings, tools, messages));
                prompt = fit.Prompt;
                // Compacting changed the history in place: the prompt is its rendering now.
                conversation = Conversation(settings, tools, history.Messages);
                TellCompaction(fit, inference.ContextSize);
                if (!fit.Fits)
                {
                    // What an over-long prompt did before: nothing generated, the turn ends for lack of tokens.
                    return StopReason.MaxTokens;
                }
            }

            var mapper = new TurnMapper(inference.Tokenizer, settings.ReasoningDisplay, turn);
            ModelCallResult call = await CallModelAsync(inference, encoding, prompt, conversation, mapper, cancellationToken).ConfigureAwait(false);
            Send(session.Meter.ModelCall(prompt.Length, call.GeneratedTokens, inference.ContextSize));
            history.RecordModelCall(call.Completed);
            if (call.StopReason == HarmonyStopReason.Cancelled)
            {
                // Of a message cut off by the cancel, the conversation keeps what the user saw.
                history.AddShownText(call.ShownText);
            }

            LogRound(logger, session.Id, round, prompt.Length, call.GeneratedTokens, call.StopReason);

            switch (call.StopReason)
            {
                case HarmonyStopReason.ToolCall:
                    ParsedToolCall toolCall = call.ToolCall!;
                    ToolCallOutcome outcome = await runner.RunAsync(toolCall, cancellationToken).ConfigureAwait(false);
                    history.RecordToolResult(toolCall, outcome.Recipient, outcome.Result);
                    if (outcome.Cancelled || cancellationToken.IsCancellationRequested)
                    {
                        return StopReason.Cancelled;
                    }

                    if (round >= options.MaxTurnRequests)
                    {
                        return StopReason.MaxTurnRequests;
                    }

                    continue;
                case HarmonyStopReason.Cancelled:
                    return StopReason.Cancelled;
                case HarmonyStopReason.MaxTokens:
                    return StopReason.MaxTokens;
                default:
                    return StopReason.EndTurn;
            }
        }
    }

    /// <summary>
    /// Saves the engine's state of the conversation, once the turn has ended, for a later process that reopens the
    /// session (docs/acp.md §4.4): what the next prompt will begin with is taken now, while the history is this
    /// turn's; rendering it (thousands of tokens: milliseconds) and the write run after, off the response's path. A
    /// failure is logged, not thrown: the state only saves a later prefill. Not cancellable: a session that closes
    /// waits for the write, which the next process restores.
    /// </summary>
    /// <returns>True when a state was written.</returns>
    public Task<bool> SaveStateAsync(string path)
    {
        if (_ran is not { } ran)
        {
            return Task.FromResult(false);
        }

        HarmonyConversation next = Conversation(session.Settings, ran.Tools, [.. history.Messages]);
        return Task.Run(() => SaveAsync(ran.Inference, next));

        async Task<bool> SaveAsync(IInferenceSession inference, HarmonyConversation conversation)
        {
            try
            {
                int[] tokens = new HarmonyEncoding(inference.Tokenizer).RenderHistory(conversation);
                return await inference.SaveStateAsync(path, tokens, CancellationToken.None).ConfigureAwait(false);
            }
            catch (InferenceException e)
            {
                LogStateNotSaved(logger, session.Id, e.Message);
            }

            return false;
        }
    }

    /// <summary>
    /// <c>/compact</c>: compacts the conversation now, whether or not it fits, with the compaction a prompt that no
    /// longer fits gets: the reasoning of earlier tool rounds goes, and every earlier turn gives way to the note (the
    /// latest turn stays). Nothing is generated.
    /// </summary>
    /// <returns>What was removed, and the context's size.</returns>
    /// <exception cref="InferenceException">The model cannot run: its vocabulary and context come with it.</exception>
    public async Task<(ContextFit Fit, int ContextSize)> CompactNowAsync(CancellationToken cancellationToken)
    {
        IInferenceSession inference = await session.GetInferenceAsync(cancellationToken).ConfigureAwait(false);
        IReadOnlyList<HarmonyFunctionTool> tools = await session.Tools.GetDeclarationsAsync(cancellationToken).ConfigureAwait(false);
        var encoding = new HarmonyEncoding(inference.Tokenizer);
        SessionSettings settings = session.Settings;
        int before = encoding.RenderForCompletion(Conversation(settings, tools, history.Messages)).Length;
        int reasoning = history.DropEarlierReasoning();
        int turns = history.EarlierTurns;
        if (turns > 0)
        {
            history.CompactOldestTurns(turns);
        }

        int[] prompt = encoding.RenderForCompletion(Conversation(settings, tools, history.Messages));
        return (new ContextFit(prompt, before, reasoning, turns, prompt.Length < inference.ContextSize), inference.ContextSize);
    }

    private HarmonyConversation Conversation(SessionSettings settings, IReadOnlyList<HarmonyFunctionTool> tools, IReadOnlyList<HarmonyMessage> messages) => new(
        new HarmonySystemContent { ReasoningEffort = settings.ReasoningEffort, CurrentDate = options.Today() },
        new HarmonyDeveloperContent(
            $"You are a coding assistant working inside the user's code editor. Answer in Markdown. The user's workspace is {session.Cwd}. "
            + "Use the functions to look at the workspace before you answer questions about it, and to make the changes the user asks for; "
            + "paths are relative to the workspace. The user may reject a call: then do not try it again.",
            tools),
        messages);

    /// <summary>
    /// Tells the client what a compaction removed: a <c>compaction_update</c> (in progress, then completed or failed)
    /// when it advertised <c>session.compaction</c>, otherwise a short message of its own before the answer, which
    /// every client shows. When even the current turn alone does not fit, the message says so, whichever the client.
    /// </summary>
    private void TellCompaction(ContextFit fit, int contextSize)
    {
        LogCompaction(logger, session.Id, fit.TokensBefore, fit.Prompt.Length, fit.ReasoningDropped, fit.TurnsCompacted, contextSize);
        string? removed = fit.Changed ? Removed(fit, contextSize) : null;
        string? failure = fit.Fits ? null
            : $"This request does not fit the model's context: the current turn alone takes {fit.Prompt.Length} of its {contextSize} tokens, "
              + "and there is no room left for an answer. Start a new session, attach less, or use a larger context (--ctx-size).";
        if (session.ClientCapabilities?.Session?.Compaction is not null && removed is not null)
        {
            string id = "compaction_" + session.NextMessageId();
            Send(new CompactionUpdate(id, CompactionStatus.InProgress));
            Send(new CompactionUpdate(id, fit.Fits ? CompactionStatus.Completed : CompactionStatus.Failed)
            {
                Summary = [new TextContent(removed)],
                Error = failure,
            });
            removed = null;
        }

        string text = string.Join("\n\n", new[] { removed, failure }.Where(t => t is not null));
        if (text.Length > 0)
        {
            Send(new AgentMessageChunk(new TextContent($"_{text}_\n\n")) { MessageId = session.NextMessageId() });
        }
    }

    private static string Removed(ContextFit fit, int contextSize)
    {
        var parts = new List<string>(2);
        if (fit.ReasoningDropped > 0)
        {
            parts.Add("the reasoning of earlier tool rounds");
        }

        if (fit.TurnsCompacted > 0)
        {
            parts.Add(fit.TurnsCompacted == 1 ? "the oldest turn" : $"the {fit.TurnsCompacted} oldest turns");
        }

        return $"The conversation had grown too long for the model's context ({fit.TokensBefore} tokens, in a context of {contextSize}), "
            + $"so the model no longer sees {string.Join(" and ", parts)}; {fit.Prompt.Length} tokens remain.";
    }

    /// <summary>Samples one completion, sending its updates as they come.</summary>
    private async Task<ModelCallResult> CallModelAsync(
        IInferenceSession inference, HarmonyEncoding encoding, int[] prompt, HarmonyConversation conversation, TurnMapper mapper, CancellationToken cancellationToken)
    {
        var generation = new GenerationOptions(options.MaxTokens, encoding.SamplingStops.ToArray()) { Conversation = conversation };
        ModelCallResult call;
        try
        {
            await foreach (int token in inference.GenerateAsync(prompt, generation, cancellationToken).ConfigureAwait(false))
            {
                mapper.Push(token);
                SendUpdates(mapper);
                if (mapper.IsStopped)
                {
                    // The model's message ended the call (a tool call, say): stop sampling here.
                    break;
                }
            }

            // Without a stop token, the budget or the context ran out.
            call = mapper.Finish();
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            call = mapper.Cancel();
        }

        SendUpdates(mapper);
        return call;
    }

    private void SendUpdates(TurnMapper mapper)
    {
        foreach (SessionUpdate update in mapper.TakeUpdates())
        {
            Send(update);
        }
    }

    private void Send(SessionUpdate update) => client.SessionUpdate(new SessionNotification(session.Id, update));

    [LoggerMessage(Level = LogLevel.Warning, Message = "Session {SessionId}: its state could not be saved; reopened later, it reads the conversation whole: {Reason}")]
    private static partial void LogStateNotSaved(ILogger logger, string sessionId, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Session {SessionId}: the prompt did not fit ({Before} tokens): {ReasoningDropped} reasoning messages and {Turns} oldest turns removed, {After} tokens left of {ContextSize}")]
    private static partial void LogCompaction(ILogger logger, string sessionId, int before, int after, int reasoningDropped, int turns, int contextSize);

    [LoggerMessage(Level = LogLevel.Information, Message = "Session {SessionId}: model call {Round}: {PromptTokens} prompt tokens, {Generated} generated, stop {Stop}")]
    private static partial void LogRound(ILogger logger, string sessionId, int round, int promptTokens, int generated, HarmonyStopReason stop);
}
