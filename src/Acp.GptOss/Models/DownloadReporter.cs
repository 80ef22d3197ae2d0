using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Acp.GptOss.Hosting;
using Microsoft.Extensions.Logging;

namespace Acp.GptOss.Models;

/// <summary>
/// Shows a download's events to people and programs: always as log events (progress at Debug, every percent);
/// on a terminal a bar redrawn in place on stderr, elsewhere a plain line every 5%; and, given a JSON stream,
/// one line per event as schemas/model-download-event.schema.json says (progress once per percent).
/// </summary>
/// <remarks>Not thread-safe: events of one download arrive one at a time.</remarks>
internal sealed partial class DownloadReporter : IDisposable
{
    private const int PlainLineStep = 5;
    private const int BarWidth = 24;
    private static readonly TimeSpan s_redrawEvery = TimeSpan.FromMilliseconds(100);
    private static readonly JsonWriterOptions s_jsonOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly ILogger _logger;
    private readonly TextWriter _error;
    private readonly bool _terminal;
    private readonly Stream? _json;
    private readonly TimeProvider _time;
    private readonly ArrayBufferWriter<byte> _buffer = new();
    private readonly Utf8JsonWriter _writer;
    private readonly Dictionary<string, Shown> _shown = new(StringComparer.Ordinal);
    private bool _barDrawn;

    /// <summary>Creates a reporter.</summary>
    /// <param name="logger">Receives every event as a log event.</param>
    /// <param name="error">stderr, for the bar or the plain lines.</param>
    /// <param name="terminal">Whether <paramref name="error"/> is a terminal: a bar, else plain lines.</param>
    /// <param name="json">stdout for JSON lines, or null for none.</param>
    /// <param name="time">The clock that paces redrawing.</param>
    public DownloadReporter(ILogger logger, TextWriter error, bool terminal, Stream? json, TimeProvider time)
    {
        _logger = logger;
        _error = error;
        _terminal = terminal;
        _json = json;
        _time = time;
        _writer = new Utf8JsonWriter(_buffer, s_jsonOptions);
    }

    /// <summary>Shows one event.</summary>
    public void Report(DownloadEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        if (e is DownloadProgress progress)
        {
            ReportProgress(progress);
            return;
        }

        // A log line written over a half-drawn bar would be unreadable.
        ClearBar();
        switch (e)
        {
            case DownloadStarted started:
                string size = ByteSize.Format(started.Total);
                string downloaded = ByteSize.Format(started.Downloaded);
                if (started.Downloaded == started.Total)
                {
                    LogAlreadyComplete(_logger, started.File, size);
                }
                else if (started.Downloaded > 0)
                {
                    LogResuming(_logger, started.File, downloaded, size, started.Commit);
                }
                else
                {
                    LogStarted(_logger, started.File, size, started.Commit);
                }

                break;
            case DownloadRetrying retrying:
                LogRetrying(_logger, retrying.File, retrying.Attempt, retrying.Delay.TotalSeconds, retrying.Reason);
                break;
            case DownloadVerified verified:
                LogVerified(_logger, verified.File, verified.Sha256);
                break;
            case DownloadCompleted completed:
                LogCompleted(_logger, completed.File, completed.Path);
                break;
            case DownloadFailed failed:
                LogFailed(_logger, failed.File, failed.Error);
                break;
        }

        WriteJson(e);
    }

    public void Dispose()
    {
        ClearBar();
        _writer.Dispose();
    }

    private void ReportProgress(DownloadProgress progress)
    {
        if (!_shown.TryGetValue(progress.File, out Shown? shown))
        {
            _shown[progress.File] = shown = new Shown();
        }

        int percent = progress.Total > 0 ? (int)(progress.Downloaded * 100 / progress.Total) : 100;
        if (percent != shown.Percent)
        {
            shown.Percent = percent;
            LogProgress(_logger, progress.File, progress.Downloaded, progress.Total, percent, progress.BytesPerSecond);
            WriteJson(progress);
        }

        bool done = progress.Downloaded == progress.Total;
        if (_terminal)
        {
            long now = _time.GetTimestamp();
            if (done || shown.DrawnAt == 0 || _time.GetElapsedTime(shown.DrawnAt, now) >= s_redrawEvery)
            {
                shown.DrawnAt = now;
                DrawBar(progress, percent, done);
            }
        }
        else if (percent / PlainLineStep != shown.PlainStep)
        {
            shown.PlainStep = percent / PlainLineStep;
            _error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{Name(progress.File)}: {percent}% ({ByteSize.Format(progress.Downloaded)} of {ByteSize.Format(progress.Total)}, {ByteSize.Format(progress.BytesPerSecond)}/s)"));
            _error.Flush();
        }
    }

    private void DrawBar(DownloadProgress progress, int percent, bool done)
    {
        int filled = Math.Clamp(percent * BarWidth / 100, 0, BarWidth);
        string eta = progress.BytesPerSecond > 0 && !done
            ? $" ETA {TimeSpan.FromSeconds(Math.Ceiling((progress.Total - progress.Downloaded) / progress.BytesPerSecond)):g}"
            : "";
        var line = new StringBuilder();
        line.Append('\r')
            .Append(Name(progress.File))
            .Append(" [").Append('#', filled).Append('-', BarWidth - filled).Append("] ")
            .Append(CultureInfo.InvariantCulture, $"{percent,3}% {ByteSize.Format(progress.Downloaded)} / {ByteSize.Format(progress.Total)}")
            .Append(CultureInfo.InvariantCulture, $" {ByteSize.Format(progress.BytesPerSecond)}/s{eta}")
            .Append("\u001b[K");
        if (done)
        {
            line.Append('\n');
        }

        _error.Write(line.ToString());
        _error.Flush();
        _barDrawn = !done;
    }

    private void ClearBar()
    {
        if (_barDrawn)
        {
            _error.Write("\r\u001b[K");
            _error.Flush();
            _barDrawn = false;
        }
    }

    private void WriteJson(DownloadEvent e)
    {
        if (_json is null)
        {
            return;
        }

        _writer.WriteStartObject();
        switch (e)
        {
            case DownloadStarted started:
                Common("started", started);
                _writer.WriteString("revision", started.Revision);
                _writer.WriteString("commit", started.Commit);
                _writer.WriteString("sha256", started.Sha256);
                _writer.WriteNumber("total", started.Total);
                _writer.WriteNumber("downloaded", started.Downloaded);
                break;
            case DownloadProgress progress:
                Common("progress", progress);
                _writer.WriteNumber("downloaded", progress.Downloaded);
                _writer.WriteNumber("total", progress.Total);
                _writer.WriteNumber("bytesPerSecond", Math.Round(progress.BytesPerSecond));
                break;
            case DownloadRetrying retrying:
                Common("retrying", retrying);
                _writer.WriteNumber("attempt", retrying.Attempt);
                _writer.WriteNumber("delay", retrying.Delay.TotalSeconds);
                _writer.WriteString("reason", retrying.Reason);
                break;
            case DownloadVerified verified:
                Common("verified", verified);
                _writer.WriteString("sha256", verified.Sha256);
                break;
            case DownloadCompleted completed:
                Common("completed", completed);
                _writer.WriteString("path", completed.Path);
                break;
            case DownloadFailed failed:
                Common("failed", failed);
                _writer.WriteString("error", failed.Error);
                break;
        }

        _writer.WriteEndObject();
        _writer.Flush();
        _json.Write(_buffer.WrittenSpan);
        _json.WriteByte((byte)'\n');
        _json.Flush();
        _buffer.ResetWrittenCount();
        _writer.Reset();

        void Common(string type, DownloadEvent e)
        {
            _writer.WriteString("type", type);
            _writer.WriteString("file", e.File);
        }
    }

    private static string Name(string file) => file[(file.LastIndexOf('/') + 1)..];

    [LoggerMessage(Level = LogLevel.Information, Message = "Downloading {File} ({Size}, commit {Commit})")]
    private static partial void LogStarted(ILogger logger, string file, string size, string commit);

    [LoggerMessage(Level = LogLevel.Information, Message = "Resuming {File} at {Downloaded} of {Size} (commit {Commit})")]
    private static partial void LogResuming(ILogger logger, string file, string downloaded, string size, string commit);

    [LoggerMessage(Level = LogLevel.Information, Message = "{File} is already complete in the cache ({Size})")]
    private static partial void LogAlreadyComplete(ILogger logger, string file, string size);

    [LoggerMessage(Level = LogLevel.Debug, Message = "{File}: {Downloaded} of {Total} bytes ({Percent}%), {BytesPerSecond:F0} bytes/s")]
    private static partial void LogProgress(ILogger logger, string file, long downloaded, long total, int percent, double bytesPerSecond);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{File}: attempt {Attempt} in {DelaySeconds:0.###} s, after: {Reason}")]
    private static partial void LogRetrying(ILogger logger, string file, int attempt, double delaySeconds, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "{File}: sha256 {Sha256} verified")]
    private static partial void LogVerified(ILogger logger, string file, string sha256);

    [LoggerMessage(Level = LogLevel.Information, Message = "{File} is complete: {Path}")]
    private static partial void LogCompleted(ILogger logger, string file, string path);

    [LoggerMessage(Level = LogLevel.Error, Message = "{File}: {Error}")]
    private static partial void LogFailed(ILogger logger, string file, string error);

    private sealed class Shown
    {
        public int Percent { get; set; } = -1;

        public int PlainStep { get; set; } = -1;

        public long DrawnAt { get; set; }
    }
}
