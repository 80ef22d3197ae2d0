using System.Globalization;
using Acp.GptOss.Inference;
using Acp.GptOss.Models;

namespace Acp.GptOss.Provisioning;

/// <summary>
/// One download and the prompts waiting for it: the downloader's events become throttled progress reports, sent to
/// each of them; one that joins late first hears where it stands.
/// </summary>
/// <remarks>Thread-safe. Reports go out under the lock, so none reaches a waiter after it has left (its turn ended).</remarks>
internal sealed class SharedDownload(ProgressThrottle throttle)
{
    private readonly Lock _gate = new();
    private readonly List<Action<ModelDownloadProgress>> _listeners = [];
    private ModelDownloadProgress? _last;
    private ModelDownloadProgress? _pending;
    private ITimer? _timer;

    /// <summary>Stops the download: when nobody waits for it any more.</summary>
    public CancellationTokenSource Cancellation { get; } = new();

    /// <summary>Ends when the model is ready, or the download failed or stopped.</summary>
    public Task Completion { get; set; } = Task.CompletedTask;

    public void Join(Action<ModelDownloadProgress> listener)
    {
        lock (_gate)
        {
            _listeners.Add(listener);
            if (_last is { } last)
            {
                listener(last);
            }
        }
    }

    /// <returns>How many still wait.</returns>
    public int Leave(Action<ModelDownloadProgress> listener)
    {
        lock (_gate)
        {
            _listeners.Remove(listener);
            return _listeners.Count;
        }
    }

    /// <summary>A downloader event, as progress.</summary>
    public void Report(DownloadEvent e)
    {
        switch (e)
        {
            case DownloadStarted started:
                Report(new ModelDownloadProgress(ModelDownloadPhase.Downloading, started.Downloaded, started.Total, 0), force: true);
                break;
            case DownloadProgress progress:
                Report(new ModelDownloadProgress(ModelDownloadPhase.Downloading, progress.Downloaded, progress.Total, progress.BytesPerSecond), force: progress.Downloaded >= progress.Total);
                break;
            case DownloadRetrying retrying:
                Report(CurrentOr(ModelDownloadPhase.Downloading) with { Note = string.Create(CultureInfo.InvariantCulture, $"retrying in {retrying.Delay.TotalSeconds:0.#} s: {retrying.Reason}") }, force: true);
                break;
            case DownloadVerified:
                Report(ModelDownloadPhase.Verified);
                break;
        }
    }

    /// <summary>A new phase, with the figures so far.</summary>
    public void Report(ModelDownloadPhase phase)
    {
        ModelDownloadProgress current = CurrentOr(phase);
        Report(current with { Phase = phase, Downloaded = current.Total, BytesPerSecond = 0, Note = null }, force: true);
    }

    private ModelDownloadProgress CurrentOr(ModelDownloadPhase phase)
    {
        lock (_gate)
        {
            return _last ?? new ModelDownloadProgress(phase, 0, 0, 0);
        }
    }

    /// <summary>Ends the reports: a report held back for later is dropped with its timer.</summary>
    public void Close()
    {
        lock (_gate)
        {
            _pending = null;
            _timer?.Dispose();
            _timer = null;
        }
    }

    // A report held back is sent when the interval ends, so that a download that stalls still shows where it stopped.
    private void Report(ModelDownloadProgress progress, bool force)
    {
        lock (_gate)
        {
            if (!throttle.Allow(force, out TimeSpan wait))
            {
                _pending = progress;
                _timer ??= throttle.Time.CreateTimer(_ => Flush(), null, wait, Timeout.InfiniteTimeSpan);
                return;
            }

            _pending = null;
            Send(progress);
        }
    }

    private void Flush()
    {
        lock (_gate)
        {
            _timer?.Dispose();
            _timer = null;
            if (_pending is { } pending && throttle.Allow(force: true, out _))
            {
                _pending = null;
                Send(pending);
            }
        }
    }

    // Under _gate.
    private void Send(ModelDownloadProgress progress)
    {
        _last = progress;
        foreach (Action<ModelDownloadProgress> listener in _listeners)
        {
            listener(progress);
        }
    }
}
