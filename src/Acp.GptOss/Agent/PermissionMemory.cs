using System.Collections.Concurrent;

namespace Acp.GptOss.Agent;

/// <summary>The "always" answers a session's user gave, by what they cover.</summary>
/// <remarks>Thread-safe. ACP clients do not remember them, so the agent does.</remarks>
internal sealed class PermissionMemory
{
    private readonly ConcurrentDictionary<string, bool> _answers = new(StringComparer.Ordinal);

    /// <summary>True: always allowed; false: always rejected; null: ask.</summary>
    public bool? Recall(string key) => _answers.TryGetValue(key, out bool allowed) ? allowed : null;

    public void Remember(string key, bool allowed) => _answers[key] = allowed;
}
