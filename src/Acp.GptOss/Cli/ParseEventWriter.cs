using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using Harmony.Parsing;
using Microsoft.Extensions.Logging;

namespace Acp.GptOss.Cli;

/// <summary>Writes the parser's events as JSON lines (schemas/harmony-parse-event.schema.json).</summary>
internal sealed partial class ParseEventWriter : IHarmonyStreamListener, IDisposable
{
    private static readonly JsonWriterOptions s_options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly IBufferWriter<byte> _output;
    private readonly Utf8JsonWriter _json;
    private readonly ILogger _logger;

    public ParseEventWriter(IBufferWriter<byte> output, ILogger logger)
    {
        _output = output;
        _json = new Utf8JsonWriter(output, s_options);
        _logger = logger;
    }

    public void OnText(HarmonyRoute route, ReadOnlySpan<char> text)
    {
        if (!route.IsVisible())
        {
            return;
        }

        _json.WriteStartObject();
        _json.WriteString("type", "chunk");
        _json.WriteString("channel", WireNames.Route(route));
        _json.WriteString("text", text);
        EndLine();
    }

    public void OnMessageCompleted(in HarmonyCompletedMessage message)
    {
        HarmonyHeader header = message.Header;
        _json.WriteStartObject();
        _json.WriteString("type", "message");
        _json.WriteString("author", header.Author);
        _json.WriteString("channel", header.Channel);
        _json.WriteString("recipient", header.Recipient);
        _json.WriteString("contentType", header.ContentType);
        _json.WriteString("route", WireNames.Route(header.Route));
        _json.WriteString("text", message.Text);
        _json.WriteString("terminator", WireNames.Terminator(message.Terminator));
        EndLine();
    }

    public void OnToolCall(in HarmonyToolCall toolCall)
    {
        _json.WriteStartObject();
        _json.WriteString("type", "toolCall");
        _json.WriteString("recipient", toolCall.Recipient);
        _json.WriteString("channel", toolCall.Channel);
        _json.WriteString("contentType", toolCall.ContentType);
        _json.WriteString("arguments", toolCall.Arguments);
        EndLine();
    }

    public void OnStopped(HarmonyStopReason reason)
    {
        _json.WriteStartObject();
        _json.WriteString("type", "stop");
        _json.WriteString("reason", WireNames.StopReason(reason));
        EndLine();
    }

    public void OnDiagnostic(HarmonyDiagnostic diagnostic) => LogDiagnostic(_logger, diagnostic);

    public void Dispose() => _json.Dispose();

    private void EndLine()
    {
        _json.WriteEndObject();
        _json.Flush();
        _json.Reset();
        _output.Write("\n"u8);
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Tolerated malformed output: {Diagnostic}")]
    private static partial void LogDiagnostic(ILogger logger, HarmonyDiagnostic diagnostic);
}
