using Microsoft.Extensions.Logging;

namespace Acp.GptOss.Tests.Tools.Mcp;

/// <summary>A log line as a test sees it.</summary>
internal sealed record LogLine(LogLevel Level, string Category, string Message);

/// <summary>A logger factory that keeps every line at every level, for tests to look at.</summary>
internal sealed class RecordingLoggers : ILoggerProvider
{
    private readonly List<LogLine> _lines = [];

    public RecordingLoggers()
    {
        Factory = LoggerFactory.Create(builder => builder.SetMinimumLevel(LogLevel.Trace).AddProvider(this));
    }

    public ILoggerFactory Factory { get; }

    public IReadOnlyList<LogLine> Lines
    {
        get
        {
            lock (_lines)
            {
                return [.. _lines];
            }
        }
    }

    public IEnumerable<LogLine> Warnings => Lines.Where(l => l.Level == LogLevel.Warning);

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private void Add(LogLine line)
    {
        lock (_lines)
        {
            _lines.Add(line);
        }
    }

    private sealed class Logger(RecordingLoggers owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner.Add(new LogLine(logLevel, category, formatter(state, exception)));
    }
}
