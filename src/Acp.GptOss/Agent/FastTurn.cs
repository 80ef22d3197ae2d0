using System.Text;
using Acp.GptOss.Inference;
using Acp.Protocol;
using Harmony.Conversations;
using Microsoft.Extensions.Logging;

namespace Acp.GptOss.Agent;

/// <summary>
/// One prompt turn on the fast model: the conversation so far as plain chat messages, the answer streamed as
/// message chunks as it comes. No reasoning, no tools. The answer joins the shared history as a final message, so
/// a later turn on GPT-OSS sees it.
/// </summary>
internal sealed partial class FastTurn(AgentSession session, IChatEngine engine, IAcpClient client, AgentOptions options, ILogger logger)
{
    public const string SystemPrompt =
        "You are a helpful assistant inside the user's code editor. Answer briefly and accurately, in Markdown.";

    /// <summary>Answers the conversation so far, whose last message is the user's.</summary>
    public async Task<StopReason> RunAsync(CancellationToken cancellationToken)
    {
        IChatSession chat;
        try
        {
            chat = await session.GetFastAsync(engine, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return StopReason.Cancelled;
        }

        var answer = new StringBuilder();
        var outcome = new ChatOutcome();
        string messageId = session.NextMessageId();
        StopReason stop;
        try
        {
            await foreach (string piece in chat.ChatAsync(Messages(), options.MaxTokens, outcome, cancellationToken).ConfigureAwait(false))
            {
                answer.Append(piece);
                Send(new AgentMessageChunk(new TextContent(piece)) { MessageId = messageId });
            }

            stop = outcome.Finished ? StopReason.EndTurn : StopReason.MaxTokens;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            stop = StopReason.Cancelled;
        }

        // What the user saw is what the conversation holds, also of an answer cut off.
        if (answer.Length > 0)
        {
            session.History.Add(HarmonyMessage.Assistant(HarmonyChannel.Final, answer.ToString()));
        }

        Send(new UsageUpdate(outcome.PromptTokens + outcome.GeneratedTokens, outcome.ContextSize));
        LogFastTurn(logger, session.Id, outcome.PromptTokens, outcome.GeneratedTokens, stop);
        return stop;
    }

    // The user's messages and the answers they saw; reasoning and tool traffic were GPT-OSS's own.
    private List<ChatMessage> Messages()
    {
        var messages = new List<ChatMessage> { new("system", SystemPrompt) };
        foreach (HarmonyMessage message in session.History)
        {
            if (message.Role == HarmonyRole.User)
            {
                messages.Add(new ChatMessage("user", message.Content));
            }
            else if (message.Role == HarmonyRole.Assistant && message.Channel == HarmonyChannel.Final && message.Recipient is null)
            {
                messages.Add(new ChatMessage("assistant", message.Content));
            }
        }

        return messages;
    }

    private void Send(SessionUpdate update) => client.SessionUpdate(new SessionNotification(session.Id, update));

    [LoggerMessage(Level = LogLevel.Information, Message = "Session {SessionId}: fast model: {PromptTokens} prompt tokens, {Generated} generated, stop {Stop}")]
    private static partial void LogFastTurn(ILogger logger, string sessionId, int promptTokens, int generated, StopReason stop);
}
