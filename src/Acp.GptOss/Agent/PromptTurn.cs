using Acp.GptOss.Inference;
using Acp.Protocol;
using Harmony.Conversations;
using Harmony.Parsing;
using Harmony.Rendering;
using Microsoft.Extensions.Logging;

namespace Acp.GptOss.Agent;

/// <summary>
/// One prompt turn: render the conversation, stream the model's tokens through the Harmony parser, send what the
/// user should see, answer tool calls, and sample again until the model is done, the budget runs out, the cap on
/// model calls is reached, or the turn is cancelled.
/// </summary>
internal sealed partial class PromptTurn(AgentSession session, IAcpClient client, AgentOptions options, ILogger logger)
{
    /// <summary>Answers the conversation so far, whose last message is the user's.</summary>
    public async Task<StopReason> RunAsync(CancellationToken cancellationToken)
    {
        IInferenceSession inference;
        try
        {
            inference = await session.GetInferenceAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return StopReason.Cancelled;
        }

        IReadOnlyList<HarmonyFunctionTool> tools;
        try
        {
            // Waits for the session's MCP servers the first time.
            tools = await session.Tools.GetDeclarationsAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return StopReason.Cancelled;
        }

        var encoding = new HarmonyEncoding(inference.Tokenizer);
        var turn = new TurnState(session.NextMessageId);
        var runner = new ToolCallRunner(session, client, logger);
        for (int round = 1; ; round++)
        {
            if (cancellationToken.IsCancellationRequested)
            {
                return StopReason.Cancelled;
            }

            SessionSettings settings = session.Settings;
            int[] prompt = encoding.RenderForCompletion(Conversation(settings, tools));
            var mapper = new TurnMapper(settings.ReasoningDisplay, turn);
            int generated = await SampleAsync(inference, encoding, prompt, mapper, cancellationToken).ConfigureAwait(false);
            Send(new UsageUpdate(prompt.Length + generated, inference.ContextSize));
            RecordHistory(mapper);
            LogRound(logger, session.Id, round, prompt.Length, generated, mapper.StopReason);

            switch (mapper.StopReason)
            {
                case HarmonyStopReason.ToolCall:
                    ToolCallOutcome outcome = await runner.RunAsync(mapper.ToolCall!, cancellationToken).ConfigureAwait(false);
                    RecordToolResult(mapper.ToolCall!, outcome);
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

    private HarmonyConversation Conversation(SessionSettings settings, IReadOnlyList<HarmonyFunctionTool> tools) => new(
        new HarmonySystemContent { ReasoningEffort = settings.ReasoningEffort, CurrentDate = options.Today() },
        new HarmonyDeveloperContent(
            $"You are a coding assistant working inside the user's code editor. Answer in Markdown. The user's workspace is {session.Cwd}. "
            + "Use the functions to look at the workspace before you answer questions about it, and to make the changes the user asks for; "
            + "paths are relative to the workspace. The user may reject a call: then do not try it again.",
            tools),
        session.History);

    private async Task<int> SampleAsync(
        IInferenceSession inference, HarmonyEncoding encoding, int[] prompt, TurnMapper mapper, CancellationToken cancellationToken)
    {
        var parser = new HarmonyStreamParser(inference.Tokenizer, mapper);
        var generation = new GenerationOptions(options.MaxTokens, encoding.SamplingStops.ToArray());
        int generated = 0;
        try
        {
            await foreach (int token in inference.GenerateAsync(prompt, generation, cancellationToken).ConfigureAwait(false))
            {
                generated++;
                parser.Push(token);
                SendUpdates(mapper);
                if (parser.IsStopped)
                {
                    // The parser saw the end (a tool call closed by <|end|>, say): stop sampling here.
                    break;
                }
            }

            // The stream ended without a terminator: the budget or the context ran out.
            parser.Finish();
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            parser.Cancel();
        }

        SendUpdates(mapper);
        return generated;
    }

    private void RecordHistory(TurnMapper mapper)
    {
        foreach (ParsedMessage message in mapper.Completed)
        {
            if (ToHistory(message) is { } history)
            {
                session.History.Add(history);
            }
        }

        // Of a message cut off by a cancel, keep what the user saw.
        if (mapper.StopReason == HarmonyStopReason.Cancelled && mapper.ShownText.Length > 0)
        {
            session.History.Add(HarmonyMessage.Assistant(HarmonyChannel.Final, mapper.ShownText));
        }
    }

    private static HarmonyMessage? ToHistory(ParsedMessage message) => message.Header.Route switch
    {
        HarmonyRoute.Analysis => HarmonyMessage.Assistant(HarmonyChannel.Analysis, message.Text),
        HarmonyRoute.Commentary => HarmonyMessage.Assistant(HarmonyChannel.Commentary, message.Text),
        HarmonyRoute.Final => HarmonyMessage.Assistant(HarmonyChannel.Final, message.Text),
        // An unknown channel that ended the turn was shown as the answer.
        HarmonyRoute.Unknown when message.Terminator is HarmonyTerminator.Return or HarmonyTerminator.EndOfText =>
            HarmonyMessage.Assistant(HarmonyChannel.Final, message.Text),
        HarmonyRoute.Tool when message.Terminator != HarmonyTerminator.Truncated =>
            HarmonyMessage.ToolCall(message.Header.Recipient!, message.Text, ChannelOf(message.Header.Channel), message.Header.ContentType),
        // A foreign message, a truncated call, an unknown channel nobody saw.
        _ => null,
    };

    /// <summary>
    /// Records the tool's answer after the call. A call the resolver had to correct (a missing namespace, say) is
    /// recorded as it should have been written, so that the model sees well-formed calls in its history (harmony.md §7.9).
    /// </summary>
    private void RecordToolResult(ParsedToolCall call, ToolCallOutcome outcome)
    {
        HarmonyChannel channel = ChannelOf(call.Channel);
        int last = session.History.Count - 1;
        if (outcome.Recipient != call.Recipient && last >= 0 && session.History[last].Recipient == call.Recipient)
        {
            session.History[last] = HarmonyMessage.ToolCall(outcome.Recipient, call.Arguments, channel, call.ContentType);
        }

        session.History.Add(HarmonyMessage.ToolResult(outcome.Recipient, outcome.Result, channel));
    }

    private static HarmonyChannel ChannelOf(string? channel) => channel switch
    {
        "analysis" => HarmonyChannel.Analysis,
        "final" => HarmonyChannel.Final,
        _ => HarmonyChannel.Commentary,
    };

    private void SendUpdates(TurnMapper mapper)
    {
        foreach (SessionUpdate update in mapper.TakeUpdates())
        {
            Send(update);
        }
    }

    private void Send(SessionUpdate update) => client.SessionUpdate(new SessionNotification(session.Id, update));

    [LoggerMessage(Level = LogLevel.Information, Message = "Session {SessionId}: model call {Round}: {PromptTokens} prompt tokens, {Generated} generated, stop {Stop}")]
    private static partial void LogRound(ILogger logger, string sessionId, int round, int promptTokens, int generated, HarmonyStopReason? stop);
}
