using Acp.GptOss.Inference;
using Microsoft.Extensions.Logging.Abstractions;

namespace Acp.GptOss.Tests.Support;

/// <summary>A <see cref="Acp.GptOss.Inference.Telemetry"/> that keeps the events of one kind it publishes, for a test to read.</summary>
/// <typeparam name="T">The kind kept: generations, load stages.</typeparam>
/// <remarks>Thread-safe: engines publish from their own threads.</remarks>
internal sealed class RecordedTelemetry<T>
    where T : TelemetryEvent
{
    private readonly List<T> _events = [];

    public RecordedTelemetry() => Telemetry.Subscribe(e =>
    {
        if (e is T kept)
        {
            lock (_events)
            {
                _events.Add(kept);
            }
        }
    });

    public Telemetry Telemetry { get; } = new(NullLogger.Instance);

    /// <summary>The events kept so far, in the order published.</summary>
    public T[] Events
    {
        get
        {
            lock (_events)
            {
                return [.. _events];
            }
        }
    }
}
