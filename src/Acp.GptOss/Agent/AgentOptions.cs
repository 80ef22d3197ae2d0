using System.Security.Cryptography;

namespace Acp.GptOss.Agent;

/// <summary>How the agent runs prompt turns.</summary>
internal sealed record AgentOptions
{
    /// <summary>The most tokens one model call may generate.</summary>
    public int MaxTokens { get; init; } = 4096;

    /// <summary>The most model calls in one prompt turn (each tool call costs one more).</summary>
    public int MaxTurnRequests { get; init; } = 16;

    /// <summary>The most tokens a request may have and still go to the fast model.</summary>
    public int RouteThreshold { get; init; } = Routing.PromptRouter.DefaultThreshold;

    /// <summary>Where routing decisions are appended (decisions.jsonl) when a fast model makes a choice; only logged when null.</summary>
    public string? StateDirectory { get; init; }

    /// <summary>Sessions per <c>session/list</c> page. Sessions are stored under <see cref="StateDirectory"/>/sessions, and not at all without it.</summary>
    public int SessionListPageSize { get; init; } = 50;

    /// <summary>
    /// The most disk the stored sessions' saved engine states take together; the oldest go first. A state is a cache
    /// (a reopened session without one reads its conversation again), and one of a long conversation on a large model
    /// is hundreds of megabytes.
    /// </summary>
    public long SessionStateBudgetBytes { get; init; } = 4L << 30;

    /// <summary>Whether tools may act on the local disk and shell when the client offers no fs or terminal methods.</summary>
    public bool LocalTools { get; init; } = true;

    /// <summary>The longest a command the model runs may take; the model may ask for less.</summary>
    public TimeSpan MaxCommandTimeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>The settings a new session starts with.</summary>
    public SessionSettings DefaultSettings { get; init; } = new();

    /// <summary>Makes a new session id.</summary>
    public Func<string> NewSessionId { get; init; } = () => "sess_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));

    /// <summary>The clock command timeouts run on.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Today's date, for the system message.</summary>
    public Func<DateOnly> Today { get; init; } = () => DateOnly.FromDateTime(DateTime.Now);
}
