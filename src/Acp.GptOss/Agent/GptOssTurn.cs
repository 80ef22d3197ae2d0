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
    public async Task<StopReason> RunAsync(CancellationToken cancellationToken)
    {
        IInferenceSession inference;
        IReadOnlyList<HarmonyFunctionTool> tools;
        try
        {
            inference = await session.GetInferenceAsync(cancellationToken).ConfigureAwait(false);
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
            var mapper = new TurnMapper(inference.Tokenizer, settings.ReasoningDisplay, turn);
            ModelCallResult call = await CallModelAsync(inference, encoding, prompt, mapper, cancellationToken).ConfigureAwait(false);
            Send(new UsageUpdate(prompt.Length + call.GeneratedTokens, inference.ContextSize));
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

    private HarmonyConversation Conversation(SessionSettings settings, IReadOnlyList<HarmonyFunctionTool> tools) => new(
        new HarmonySystemContent { ReasoningEffort = settings.ReasoningEffort, CurrentDate = options.Today() },
        new HarmonyDeveloperContent(
            $"You are a coding assistant working inside the user's code editor. Answer in Markdown. The user's workspace is {session.Cwd}. "
            + "Use the functions to look at the workspace before you answer questions about it, and to make the changes the user asks for; "
            + "paths are relative to the workspace. The user may reject a call: then do not try it again.",
            tools),
        history.Messages);

    /// <summary>Samples one completion, sending its updates as they come.</summary>
    private async Task<ModelCallResult> CallModelAsync(
        IInferenceSession inference, HarmonyEncoding encoding, int[] prompt, TurnMapper mapper, CancellationToken cancellationToken)
    {
        var generation = new GenerationOptions(options.MaxTokens, encoding.SamplingStops.ToArray());
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

    [LoggerMessage(Level = LogLevel.Information, Message = "Session {SessionId}: model call {Round}: {PromptTokens} prompt tokens, {Generated} generated, stop {Stop}")]
    private static partial void LogRound(ILogger logger, string sessionId, int round, int promptTokens, int generated, HarmonyStopReason stop);
}
