using Microsoft.Extensions.Logging;

namespace Acp.GptOss.Tools.Mcp;

/// <summary>
/// The MCP client's own log, at Debug at most. It logs each server's stderr lines at Information and a warning for
/// every server that predates <c>server/discover</c> (most of them, and no fault); what a user must see, the toolbox
/// says itself: a server connected, one that failed and why, a call that failed.
/// </summary>
/// <remarks>Thread-safe as the factory it wraps. Disposing it leaves that factory alone: it is not ours.</remarks>
internal sealed class McpClientLoggers(ILoggerFactory inner) : ILoggerFactory
{
    public ILogger CreateLogger(string categoryName) => new Demoted(inner.CreateLogger(categoryName));

    public void AddProvider(ILoggerProvider provider) => inner.AddProvider(provider);

    public void Dispose()
    {
    }

    private static LogLevel Demote(LogLevel level) => level is LogLevel.None or <= LogLevel.Debug ? level : LogLevel.Debug;

    private sealed class Demoted(ILogger inner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => inner.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(Demote(logLevel));

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            LogLevel level = Demote(logLevel);
            inner.Log(level, eventId, state, exception, formatter);
        }
    }
}
