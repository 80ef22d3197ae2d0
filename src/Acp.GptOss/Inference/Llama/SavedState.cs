using System.Diagnostics;
using LlamaCpp;
using Microsoft.Extensions.Logging;

namespace Acp.GptOss.Inference.Llama;

/// <summary>
/// Saving and restoring a conversation's KV state file, the same for a context of its own and a sequence of a shared
/// one: what is logged and reported, and a refused file deleted. Runs where the conversation decodes.
/// </summary>
internal static partial class SavedState
{
    /// <summary>How the cache is read from a file: true when restored, else why not.</summary>
    public delegate bool TryRestore(string path, out string? refusal);

    /// <summary>Saves with <paramref name="save"/>; llama.cpp's and the disk's failures become one <see cref="InferenceException"/>.</summary>
    public static bool Save(string path, string sessionId, ILogger logger, Func<bool> save, Func<int> cachedTokens)
    {
        try
        {
            bool saved = save();
            int tokens = cachedTokens();
            if (saved)
            {
                LogSaved(logger, sessionId, tokens, path);
            }

            return saved;
        }
        catch (Exception e) when (e is LlamaException or IOException or UnauthorizedAccessException)
        {
            throw new InferenceException($"The session's state could not be saved to {path}: {e.Message}", e);
        }
    }

    /// <summary>
    /// Restores with <paramref name="restore"/>, reported as the <c>state_restored</c> load stage; a refused file is
    /// logged and deleted (of another model, context size or llama.cpp build, or damaged: nothing will ever use it,
    /// and it may be hundreds of megabytes).
    /// </summary>
    public static bool Restore(string path, string sessionId, ModelSlot slot, ILogger logger, TryRestore restore, Func<int> cachedTokens)
    {
        long started = Stopwatch.GetTimestamp();
        string? refusal;
        try
        {
            if (restore(path, out refusal))
            {
                int tokens = cachedTokens();
                LogRestored(logger, sessionId, tokens, path);
                slot.ReportStage(LoadStageEvent.StateRestored, Stopwatch.GetElapsedTime(started), $"{tokens} tokens for session {sessionId}");
                return true;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Read while it changed, say: as good as refused.
            refusal = e.Message;
        }

        LogRefused(logger, sessionId, path, refusal);
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            LogNotDeleted(logger, sessionId, path, e.Message);
        }

        return false;
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Session {SessionId}: saved its {Tokens}-token state to {Path}")]
    private static partial void LogSaved(ILogger logger, string sessionId, int tokens, string path);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Session {SessionId}: restored a {Tokens}-token state from {Path}")]
    private static partial void LogRestored(ILogger logger, string sessionId, int tokens, string path);

    [LoggerMessage(Level = LogLevel.Information, Message = "Session {SessionId}: the saved state {Path} is not used ({Reason}); the next prompt is prefilled whole")]
    private static partial void LogRefused(ILogger logger, string sessionId, string path, string? reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Session {SessionId}: the unusable saved state {Path} could not be deleted: {Reason}")]
    private static partial void LogNotDeleted(ILogger logger, string sessionId, string path, string reason);
}
