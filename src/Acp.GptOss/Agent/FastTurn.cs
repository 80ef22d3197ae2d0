using System.Text;
using Acp.GptOss.Inference;
using Acp.Protocol;
using Microsoft.Extensions.Logging;

namespace Acp.GptOss.Agent;

/// <summary>
/// One prompt turn on the fast model: the conversation so far as plain chat messages, the answer streamed as
/// message chunks as it comes. No reasoning, no tools. The answer joins the shared history as a final message, so
/// a later turn on GPT-OSS sees it. Returns how the turn ended.
/// </summary>
/// <param name="session">The session the turn runs in: its fast model state and ids.</param>
/// <param name="history">The session's conversation, whose last message is the user's prompt; the turn adds the answer.</param>
/// <param name="engine">The fast model.</param>
/// <param name="client">Where updates go.</param>
/// <param name="options">The token budget.</param>
/// <param name="logger">The agent's log.</param>
internal sealed partial class FastTurn(
    AgentSession session, ConversationHistory history, IChatEngine engine, IAcpClient client, AgentOptions options, ILogger logger)
{
    public const string SystemPrompt =
        "You are a helpful assistant inside the user's code editor. Answer briefly and accurately, in Markdown.";

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
            await foreach (string piece in chat.ChatAsync(history.ToChatMessages(SystemPrompt), options.MaxTokens, outcome, cancellationToken).ConfigureAwait(false))
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
        history.AddShownText(answer.ToString());

        Send(session.Meter.ModelCall(outcome.PromptTokens, outcome.GeneratedTokens, outcome.ContextSize));
        LogFastTurn(logger, session.Id, outcome.PromptTokens, outcome.GeneratedTokens, stop);
        return stop;
    }

    private void Send(SessionUpdate update) => client.SessionUpdate(new SessionNotification(session.Id, update));

    [LoggerMessage(Level = LogLevel.Information, Message = "Session {SessionId}: fast model: {PromptTokens} prompt tokens, {Generated} generated, stop {Stop}")]
    private static partial void LogFastTurn(ILogger logger, string sessionId, int promptTokens, int generated, StopReason stop);
}
