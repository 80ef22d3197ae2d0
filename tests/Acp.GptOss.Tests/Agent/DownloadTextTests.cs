using Acp.GptOss.Agent.FirstRun;
using Acp.GptOss.Inference;
using Acp.GptOss.Provisioning;
using Microsoft.Extensions.Time.Testing;

namespace Acp.GptOss.Tests.Agent;

/// <summary>What the user reads of a first-run download, and how often.</summary>
public sealed class DownloadTextTests
{
    private static readonly ModelOffer s_offer = new("gpt-oss-20b", "ggml-org/gpt-oss-20b-GGUF", "gpt-oss-20b-mxfp4.gguf", "/cache/models--ggml-org--gpt-oss-20b-GGUF", 12_100_000_000);

    [Fact]
    public void A_progress_line_has_bytes_rate_and_time_left()
    {
        string line = DownloadText.Progress(s_offer, new ModelDownloadProgress(ModelDownloadPhase.Downloading, 1_210_000_000, 12_100_000_000, 45_000_000));

        Assert.Equal("Downloading ggml-org/gpt-oss-20b-GGUF/gpt-oss-20b-mxfp4.gguf: 1.2 GB of 12.1 GB (10%), 45.0 MB/s, 5 min left", line);
    }

    [Fact]
    public void The_question_names_repository_file_size_and_destination_and_what_a_resume_keeps()
    {
        string question = DownloadText.Question(s_offer with { DownloadedBytes = 3_000_000_000 });

        Assert.Equal(
            "No GPT-OSS model is installed. Download gpt-oss-20b, the file gpt-oss-20b-mxfp4.gguf (12.1 GB) from the Hugging Face repository ggml-org/gpt-oss-20b-GGUF, "
            + "into the Hugging Face cache at /cache/models--ggml-org--gpt-oss-20b-GGUF? 3.0 GB of it were downloaded before; the download resumes there. "
            + "It is verified (sha256) and loaded, and then this prompt is answered.",
            question);
    }

    [Fact]
    public void The_throttle_lets_a_report_through_once_per_interval_and_a_forced_one_always()
    {
        var time = new FakeTimeProvider();
        var throttle = new ProgressThrottle(time, TimeSpan.FromMilliseconds(250));

        Assert.True(throttle.Allow(force: false, out _));
        time.Advance(TimeSpan.FromMilliseconds(100));
        Assert.False(throttle.Allow(force: false, out TimeSpan wait));
        Assert.Equal(TimeSpan.FromMilliseconds(150), wait);
        Assert.True(throttle.Allow(force: true, out _));
        time.Advance(TimeSpan.FromMilliseconds(249));
        Assert.False(throttle.Allow(force: false, out _));
        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(throttle.Allow(force: false, out _));
    }
}
