using System.Globalization;
using Microsoft.Extensions.Logging;

namespace Acp.GptOss.Hosting;

/// <summary>Logging for every mode: one line per event on stderr (never stdout), written as it happens.</summary>
internal static class Logging
{
    // Made directly, not through LoggerFactory.Create's service container (which builds its services by reflection):
    // this runs at every start, before initialize is answered.
    public static ILoggerFactory CreateFactory(TextWriter error, LogLevel minimumLevel) =>
        new LoggerFactory([new LineLoggerProvider(error)], new LoggerFilterOptions { MinLevel = minimumLevel });

    private sealed class LineLoggerProvider(TextWriter output) : ILoggerProvider
    {
        private readonly Lock _gate = new();

        public ILogger CreateLogger(string categoryName) => new LineLogger(this, categoryName);

        public void Dispose()
        {
            lock (_gate)
            {
                output.Flush();
            }
        }

        private void Write(string line)
        {
            // Several threads log at once; a line is never interleaved with another.
            lock (_gate)
            {
                output.WriteLine(line);
                output.Flush();
            }
        }

        private sealed class LineLogger(LineLoggerProvider provider, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                string line = string.Create(
                    CultureInfo.InvariantCulture,
                    $"{DateTime.Now:HH:mm:ss.fff} {Level(logLevel)} {category}: {formatter(state, exception)}");
                provider.Write(exception is null ? line : line + Environment.NewLine + exception);
            }

            private static string Level(LogLevel level) => level switch
            {
                LogLevel.Trace => "trce",
                LogLevel.Debug => "dbug",
                LogLevel.Information => "info",
                LogLevel.Warning => "warn",
                LogLevel.Error => "fail",
                _ => "crit",
            };
        }
    }
}
