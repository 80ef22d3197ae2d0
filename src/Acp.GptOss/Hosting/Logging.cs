using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace Acp.GptOss.Hosting;

/// <summary>Logging for every mode: one line per event, on stderr, never on stdout.</summary>
internal static class Logging
{
    public static ILoggerFactory CreateFactory(LogLevel minimumLevel) => LoggerFactory.Create(builder =>
    {
        builder.SetMinimumLevel(minimumLevel);
        builder.AddConsole(options => options.LogToStandardErrorThreshold = LogLevel.Trace);
        builder.AddSimpleConsole(options =>
        {
            options.SingleLine = true;
            options.ColorBehavior = LoggerColorBehavior.Disabled;
            options.TimestampFormat = "HH:mm:ss.fff ";
        });
    });
}
