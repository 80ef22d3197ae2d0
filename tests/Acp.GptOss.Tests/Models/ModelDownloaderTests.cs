using System.Security.Cryptography;
using Acp.GptOss.Models;
using Acp.GptOss.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Xunit.Abstractions;

namespace Acp.GptOss.Tests.Models;

/// <summary>
/// The downloader against a loopback hub: the Hugging Face cache layout, resume after every kind of fault and after
/// cancellation at many points, verification, offline mode, the free-space check, a full disk and the token's reach.
/// </summary>
public sealed class ModelDownloaderTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Repository = "test-org/tiny-GGUF";
    private const string FileName = "tiny-mxfp4.gguf";
    private const int Size = 3 * 1024 * 1024 + 12345;

    private HubHome _setup = null!;

    public async Task InitializeAsync() => _setup = await HubHome.StartAsync(Repository, FileName, Size, seed: 5);

    public async Task DisposeAsync() => await _setup.DisposeAsync();

    // Short waits between attempts; the stall timeout stays long (a stall is a fake clock's move), so a busy machine
    // never makes an extra attempt.
    private static DownloadOptions FastOptions => new()
    {
        RetryDelay = TimeSpan.FromMilliseconds(1),
        MaxRetryDelay = TimeSpan.FromMilliseconds(8),
        BufferSize = 64 * 1024,
    };

    private string Blob => _setup.Blob;

    private string Incomplete => _setup.Incomplete;

    private string Snapshot => _setup.Snapshot;

    [Theory]
    [InlineData(Delivery.RedirectHere)]
    [InlineData(Delivery.Direct)]
    public async Task A_download_lands_in_the_Hugging_Face_cache_layout_verified(Delivery delivery)
    {
        _setup.Hub.Delivery = delivery;
        var events = new List<DownloadEvent>();

        DownloadedFile done = Assert.Single(await DownloadAsync(events.Add));

        Assert.Equal(Snapshot, done.Path);
        Assert.Equal(Path.Combine("..", "..", "blobs", _setup.File.Sha256), new FileInfo(Snapshot).LinkTarget);
        Assert.Equal(_setup.File.Sha256, Sha256(Snapshot));
        Assert.Equal(_setup.File.Commit, File.ReadAllText(Path.Combine(_setup.Home.HuggingFaceCache, "models--test-org--tiny-GGUF", "refs", "main")));
        Assert.False(File.Exists(Incomplete));
        Assert.Equal(Size, done.BytesReceived);

        Assert.IsType<DownloadStarted>(events[0]);
        Assert.Equal(new DownloadStarted(_setup.File.Spec, "main", _setup.File.Commit, _setup.File.Sha256, Size, 0), events[0]);
        List<DownloadProgress> progress = [.. events.OfType<DownloadProgress>()];
        Assert.Equal(progress.Select(p => p.Downloaded).Order(), progress.Select(p => p.Downloaded));
        Assert.Equal(Size, progress[^1].Downloaded);
        Assert.Equal([new DownloadVerified(_setup.File.Spec, _setup.File.Sha256), new DownloadCompleted(_setup.File.Spec, Snapshot)], events[^2..]);
        Assert.Equal(["HEAD", "GET"], _setup.Hub.Requests.Select(r => r.Method));
    }

    [Fact]
    public async Task A_file_already_complete_is_reported_at_once_without_a_request()
    {
        await DownloadAsync(_ => { });
        int requests = _setup.Hub.Requests.Count;
        var events = new List<DownloadEvent>();

        DownloadedFile done = Assert.Single(await DownloadAsync(events.Add));

        Assert.Equal(requests, _setup.Hub.Requests.Count);
        Assert.Equal(0, done.BytesReceived);
        Assert.Equal(
            [
                new DownloadStarted(_setup.File.Spec, "main", _setup.File.Commit, _setup.File.Sha256, Size, Size),
                new DownloadProgress(_setup.File.Spec, Size, Size, 0),
                new DownloadCompleted(_setup.File.Spec, Snapshot),
            ],
            events);
    }

    [Theory]
    [InlineData(FaultKind.Reset)]
    [InlineData(FaultKind.Stall)]
    [InlineData(FaultKind.ServerError)]
    [InlineData(FaultKind.ShortBody)]
    [InlineData(FaultKind.IgnoreRange)]
    public async Task Every_fault_is_retried_and_resumed_to_an_identical_file(FaultKind kind)
    {
        const long Cut = Size * 2 / 5;

        // The fault strikes the first attempt and, for a server that ignores Range, the resumed one.
        _setup.Hub.Enqueue(kind == FaultKind.IgnoreRange ? [new Fault(FaultKind.Reset, Cut), new Fault(FaultKind.IgnoreRange)] : [new Fault(kind, Cut)]);
        var events = new List<DownloadEvent>();

        // A stall is waited out on a fake clock: once the bytes before it are in, the clock moves past the stall
        // timeout, and the attempt's next read finds it abandoned. The retry then starts at once.
        var clock = new FakeTimeProvider();
        DownloadOptions options = kind == FaultKind.Stall ? FastOptions with { Time = clock, RetryDelay = TimeSpan.Zero } : FastOptions;
        void Report(DownloadEvent e)
        {
            events.Add(e);
            if (kind == FaultKind.Stall && e is DownloadProgress { Downloaded: Cut })
            {
                clock.Advance(options.StallTimeout);
            }
        }

        DownloadedFile done = Assert.Single(await DownloadAsync(Report, options: options));

        Assert.Equal(_setup.File.Sha256, Sha256(done.Path));
        DownloadRetrying retry = Assert.Single(events.OfType<DownloadRetrying>());
        Assert.Equal(2, retry.Attempt);
        List<SeenRequest> gets = _setup.Hub.ContentRequests;
        Assert.Equal(2, gets.Count);
        long resumedAt = gets[1].RangeStart ?? 0;
        long redownloaded = done.BytesReceived - Size;
        output.WriteLine($"{kind}: {retry.Reason}; resumed at byte {resumedAt}; {redownloaded} bytes downloaded twice; sha256 matches");
        if (kind is FaultKind.ServerError)
        {
            Assert.Equal(0, resumedAt);
            Assert.Equal(0, redownloaded);
        }
        else if (kind is FaultKind.IgnoreRange)
        {
            // The resumed request asked for the rest, got everything, and started over.
            Assert.True(resumedAt > 0);
            Assert.Equal(resumedAt, redownloaded);
        }
        else
        {
            // Whatever reached the disk before the fault is never fetched again.
            Assert.True(resumedAt > 0);
            Assert.Equal(0, redownloaded);
        }
    }

    [Fact]
    public async Task A_download_cancelled_at_twenty_points_resumes_each_time_and_fetches_no_byte_twice()
    {
        long[] points = [.. Enumerable.Range(1, 20).Select(i => (long)(Size - (256 * 1024)) * i / 20)];
        long received = 0;
        var resumedAt = new List<long>();
        foreach (long point in points)
        {
            using var cancel = new CancellationTokenSource();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => DownloadAsync(
                e =>
                {
                    if (e is DownloadStarted started)
                    {
                        resumedAt.Add(started.Downloaded);
                    }

                    if (e is DownloadProgress p && p.Downloaded >= point)
                    {
                        cancel.Cancel();
                    }
                },
                cancellationToken: cancel.Token));
            long kept = new FileInfo(Incomplete).Length;
            Assert.InRange(kept, point, Size - 1);
            received = kept;
        }

        DownloadedFile done = Assert.Single(await DownloadAsync(_ => { }));

        Assert.Equal(_setup.File.Sha256, Sha256(done.Path));
        Assert.Equal(Size - received, done.BytesReceived);
        // Each run resumed where the last one stopped. The hub may record a cancelled connection's request after the
        // next one's, so the starts are compared in order of offset: they only grow.
        Assert.Equal(resumedAt.Skip(1).Append(received), _setup.Hub.ContentRequests.Select(r => r.RangeStart ?? 0).Order().Skip(1));
        Assert.Equal(0, resumedAt[0]);
        Assert.True(_setup.Hub.BodyBytes >= Size);
        output.WriteLine($"cancelled at {string.Join(", ", resumedAt.Skip(1).Append(received))}; the last run fetched {done.BytesReceived} of {Size} bytes; sha256 matches");
    }

    [Fact]
    public async Task A_sha256_that_does_not_match_fails_and_leaves_nothing_in_the_cache()
    {
        HostedFile lying = _setup.Hub.Add("test-org/lying-GGUF", "lie.gguf", FakeHub.RandomContent(100_000, seed: 7), statedSha256: new string('e', 64));
        var events = new List<DownloadEvent>();

        ModelDownloadException e = await Assert.ThrowsAsync<ModelDownloadException>(() =>
            DownloadAsync(events.Add, file: new HubFile(lying.Repository, lying.FileName, "main")));

        Assert.Contains($"sha256 {lying.Sha256}, but the server stated {new string('e', 64)}", e.Message, StringComparison.Ordinal);
        Assert.Equal(new DownloadFailed(lying.Spec, e.Message), events[^1]);
        string folder = Path.Combine(_setup.Home.HuggingFaceCache, "models--test-org--lying-GGUF");
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(folder, "blobs")));
        Assert.False(Directory.Exists(Path.Combine(folder, "snapshots")));
        Assert.False(Directory.Exists(Path.Combine(folder, "refs")));
    }

    [Fact]
    public async Task Offline_a_missing_file_is_an_error_without_any_request_and_a_complete_one_succeeds()
    {
        _setup.Home.Variables["HF_HUB_OFFLINE"] = "1";

        ModelDownloadException e = await Assert.ThrowsAsync<ModelDownloadException>(() => DownloadAsync(_ => { }));

        Assert.Contains("HF_HUB_OFFLINE", e.Message, StringComparison.Ordinal);
        Assert.Empty(_setup.Hub.Requests);

        _setup.Home.Variables.Remove("HF_HUB_OFFLINE");
        await DownloadAsync(_ => { });
        int requests = _setup.Hub.Requests.Count;
        _setup.Home.Variables["HF_HUB_OFFLINE"] = "true";

        DownloadedFile done = Assert.Single(await DownloadAsync(_ => { }));

        Assert.Equal(Snapshot, done.Path);
        Assert.Equal(requests, _setup.Hub.Requests.Count);
    }

    [Fact]
    public async Task Too_little_free_space_for_what_is_missing_is_an_error_before_any_byte_is_fetched()
    {
        // A partial download from an earlier run: only the rest is needed.
        Directory.CreateDirectory(Path.GetDirectoryName(Incomplete)!);
        File.WriteAllBytes(Incomplete, _setup.File.Content.AsSpan(0, 1000).ToArray());
        DownloadOptions tinyDisk = FastOptions with { FreeSpace = _ => 4096 };

        ModelDownloadException e = await Assert.ThrowsAsync<ModelDownloadException>(() => DownloadAsync(_ => { }, options: tinyDisk));

        Assert.Contains($"Not enough disk space in {Path.GetDirectoryName(Blob)}", e.Message, StringComparison.Ordinal);
        Assert.Contains($"needs 3.2 MB more ({Size - 1000} bytes), and 4.1 kB (4096 bytes) are free", e.Message, StringComparison.Ordinal);
        Assert.Empty(_setup.Hub.ContentRequests);
        Assert.Equal(1000, new FileInfo(Incomplete).Length);
    }

    [Fact]
    public async Task A_full_disk_is_a_clear_error_that_keeps_what_was_written_for_the_next_run()
    {
        const long Room = 1_000_000;
        DownloadOptions fullDisk = FastOptions with { WrapPartialFile = file => new FullDisk(file, Room) };

        ModelDownloadException e = await Assert.ThrowsAsync<ModelDownloadException>(() => DownloadAsync(_ => { }, options: fullDisk));

        Assert.Contains("No space left on device", e.Message, StringComparison.Ordinal);
        Assert.Contains("kept", e.Message, StringComparison.Ordinal);
        Assert.Equal(Room, new FileInfo(Incomplete).Length);

        DownloadedFile done = Assert.Single(await DownloadAsync(_ => { }));

        Assert.Equal(_setup.File.Sha256, Sha256(done.Path));
        Assert.Equal(Size - Room, done.BytesReceived);
    }

    [Fact]
    public async Task The_token_goes_to_the_hub_and_never_to_a_CDN_on_another_host()
    {
        await using FakeHub cdn = await FakeHub.StartAsync("localhost");
        cdn.Host(_setup.File);
        _setup.Hub.Cdn = cdn;
        _setup.Hub.Delivery = Delivery.RedirectToCdn;
        _setup.Home.Variables["HF_TOKEN"] = "hf_secret";

        DownloadedFile done = Assert.Single(await DownloadAsync(_ => { }));

        Assert.Equal(_setup.File.Sha256, Sha256(done.Path));
        Assert.All(_setup.Hub.Requests, r => Assert.Equal("Bearer hf_secret", r.Authorization));
        SeenRequest get = Assert.Single(cdn.Requests);
        Assert.True(get.Content);
        Assert.Null(get.Authorization);
    }

    [Fact]
    public async Task A_renamed_repository_is_followed_by_its_relative_redirect_with_the_token()
    {
        _setup.Hub.Rename("old-org/tiny", Repository);
        _setup.Home.Variables["HF_TOKEN"] = "hf_secret";

        DownloadedFile done = Assert.Single(await DownloadAsync(_ => { }, file: new HubFile("old-org/tiny", FileName, "main")));

        Assert.Equal(_setup.File.Sha256, Sha256(done.Path));
        Assert.Contains("models--old-org--tiny", done.Path, StringComparison.Ordinal);
        Assert.Equal("/old-org/tiny/resolve/main/" + FileName, _setup.Hub.Requests[0].Path);
        Assert.All(_setup.Hub.Requests, r => Assert.Equal("Bearer hf_secret", r.Authorization));
    }

    [Fact]
    public async Task A_server_that_keeps_failing_is_given_up_on_after_the_bounded_attempts_with_growing_waits()
    {
        _setup.Hub.Enqueue([.. Enumerable.Repeat(new Fault(FaultKind.ServerError), 10)]);
        var events = new List<DownloadEvent>();

        ModelDownloadException e = await Assert.ThrowsAsync<ModelDownloadException>(() =>
            DownloadAsync(events.Add, options: FastOptions with { MaxAttempts = 4 }));

        Assert.Contains("gave up after 4 attempts", e.Message, StringComparison.Ordinal);
        Assert.Contains("HTTP 503", e.Message, StringComparison.Ordinal);
        List<DownloadRetrying> retries = [.. events.OfType<DownloadRetrying>()];
        Assert.Equal([2, 3, 4], retries.Select(r => r.Attempt));
        Assert.Equal([1.0, 2.0, 4.0], retries.Select(r => r.Delay.TotalMilliseconds));
        Assert.Equal(4, _setup.Hub.ContentRequests.Count);
    }

    [Fact]
    public async Task A_missing_file_fails_at_once_without_retrying()
    {
        var events = new List<DownloadEvent>();

        ModelDownloadException e = await Assert.ThrowsAsync<ModelDownloadException>(() =>
            DownloadAsync(events.Add, file: new HubFile(Repository, "no-such.gguf", "main")));

        Assert.Contains("has no file no-such.gguf at main", e.Message, StringComparison.Ordinal);
        Assert.Single(_setup.Hub.Requests);
        Assert.IsType<DownloadFailed>(Assert.Single(events));
    }

    [Fact]
    public async Task Every_part_of_a_split_model_is_pulled_after_one_free_space_check_for_all()
    {
        IReadOnlyList<HubFile> parts = HubFile.Parse("test-org/split-GGUF/big-00002-of-00003.gguf", "main", out _)!;
        HostedFile[] hosted = [.. parts.Select((p, i) => _setup.Hub.Add(p.Repository, p.FileName, FakeHub.RandomContent(200_000 + i, seed: i)))];
        var asked = new List<string>();
        DownloadOptions options = FastOptions with { FreeSpace = folder => { asked.Add(folder); return long.MaxValue; } };

        IReadOnlyList<DownloadedFile> done = await new ModelDownloader(Http, _setup.Home.Environment, options, NullLogger.Instance)
            .DownloadAsync(parts, _ => { }, CancellationToken.None);

        Assert.Equal(["big-00001-of-00003.gguf", "big-00002-of-00003.gguf", "big-00003-of-00003.gguf"], done.Select(d => Path.GetFileName(d.Path)));
        Assert.Equal(hosted.Select(h => h.Sha256), done.Select(d => Sha256(d.Path)));
        Assert.Single(asked);
    }

    [Theory]
    [InlineData("gpt-oss-20b", "ggml-org/gpt-oss-20b-GGUF/gpt-oss-20b-mxfp4.gguf")]
    [InlineData("GPT-OSS-120B", "ggml-org/gpt-oss-120b-GGUF/gpt-oss-120b-mxfp4-00001-of-00003.gguf ggml-org/gpt-oss-120b-GGUF/gpt-oss-120b-mxfp4-00002-of-00003.gguf ggml-org/gpt-oss-120b-GGUF/gpt-oss-120b-mxfp4-00003-of-00003.gguf")]
    [InlineData("org/repo/sub/dir/m.gguf", "org/repo/sub/dir/m.gguf")]
    public void Model_names_and_paths_become_the_files_to_pull(string spec, string files)
    {
        IReadOnlyList<HubFile>? parsed = HubFile.Parse(spec, "main", out string? error);

        Assert.Null(error);
        Assert.Equal(files.Split(' '), parsed!.Select(f => f.Name));
    }

    [Theory]
    [InlineData("gpt-oss-7b")]
    [InlineData("org/repo")]
    [InlineData("org/repo/../../etc/passwd")]
    [InlineData("org--x/repo/m.gguf")]
    public void Anything_else_is_refused(string spec)
    {
        Assert.Null(HubFile.Parse(spec, "main", out string? error));
        Assert.Contains(spec, error, StringComparison.Ordinal);
    }

    private static HttpClient Http { get; } = HubClient.CreateHttpClient();

    private async Task<IReadOnlyList<DownloadedFile>> DownloadAsync(
        Action<DownloadEvent> report, HubFile? file = null, DownloadOptions? options = null, CancellationToken cancellationToken = default)
    {
        var downloader = new ModelDownloader(Http, _setup.Home.Environment, options ?? FastOptions, NullLogger.Instance);
        return await downloader.DownloadAsync([file ?? new HubFile(Repository, FileName, "main")], report, cancellationToken);
    }

    private static string Sha256(string path)
    {
        using FileStream stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    /// <summary>A disk with room for <paramref name="room"/> bytes: the write that would pass it writes what fits, then fails.</summary>
    private sealed class FullDisk(FileStream file, long room) : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => true;

        public override bool CanWrite => true;

        public override long Length => file.Length;

        public override long Position { get => file.Position; set => file.Position = value; }

        public override void Flush() => file.Flush();

        public override int Read(byte[] buffer, int offset, int count) => file.Read(buffer, offset, count);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => file.ReadAsync(buffer, cancellationToken);

        public override long Seek(long offset, SeekOrigin origin) => file.Seek(offset, origin);

        public override void SetLength(long value) => file.SetLength(value);

        public override void Write(byte[] buffer, int offset, int count)
        {
            long fits = Math.Max(0, room - file.Length);
            file.Write(buffer, offset, (int)Math.Min(fits, count));
            if (count > fits)
            {
                throw new IOException("No space left on device");
            }
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            long fits = Math.Max(0, room - file.Length);
            await file.WriteAsync(buffer[..(int)Math.Min(fits, buffer.Length)], cancellationToken);
            if (buffer.Length > fits)
            {
                throw new IOException("No space left on device");
            }
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                file.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
