using System.CommandLine;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Acp.GptOss.Cli;
using Acp.GptOss.Hosting;
using Acp.GptOss.Models;
using Acp.GptOss.Tests.Support;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace Acp.GptOss.Tests.Models;

/// <summary>
/// <c>acp-gptoss models list</c> and <c>models pull</c>: in-process with a home of their own, and as the built
/// executable, killed or interrupted mid-download and run again.
/// </summary>
public sealed class ModelsCommandTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Repository = "test-org/tiny-GGUF";
    private const string FileName = "tiny.gguf";
    private const int Size = 2 * 1024 * 1024 + 777;

    private static readonly JsonSchemaValidator s_events = JsonSchemaValidator.Load("model-download-event.schema.json");

    private HubHome _setup = null!;

    public async Task InitializeAsync() => _setup = await HubHome.StartAsync(Repository, FileName, Size, seed: 11);

    public async Task DisposeAsync() => await _setup.DisposeAsync();

    private string Incomplete => _setup.Incomplete;

    private string Snapshot => _setup.Snapshot;

    [Fact]
    public async Task Pull_with_json_writes_schema_valid_events_on_stdout_and_plain_progress_lines_on_stderr()
    {
        CliResult result = await RunAsync(terminal: false, "models", "pull", _setup.File.Spec, "--json");

        Assert.Equal(0, result.ExitCode);
        foreach (string line in result.Lines)
        {
            Assert.True(s_events.Validate(line) is [], $"{line}: {string.Join("; ", s_events.Validate(line))}");
        }

        List<JsonElement> events = [.. result.Lines.Select(l => JsonDocument.Parse(l).RootElement)];
        string[] types = [.. events.Select(e => e.GetProperty("type").GetString()!)];
        Assert.Equal("started", types[0]);
        Assert.Equal(["verified", "completed"], types[^2..]);
        Assert.All(types[1..^2], t => Assert.Equal("progress", t));
        Assert.InRange(types.Length - 3, 2, 101);
        Assert.Equal(Size, events[^3].GetProperty("downloaded").GetInt64());
        Assert.Equal(Snapshot, events[^1].GetProperty("path").GetString());

        string[] plain = [.. result.Error.Split('\n').Where(l => l.StartsWith($"{FileName}: ", StringComparison.Ordinal))];
        Assert.InRange(plain.Length, 2, 21);
        Assert.StartsWith($"{FileName}: 100% (2.1 MB of 2.1 MB, ", plain[^1], StringComparison.Ordinal);
        Assert.Contains($"{_setup.File.Spec} is complete: {Snapshot}", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("\r", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pull_with_json_reports_a_retry_and_a_resumed_download_in_the_schema()
    {
        _setup.Hub.Enqueue(new Fault(FaultKind.ServerError), new Fault(FaultKind.Reset, Size / 3));

        CliResult result = await RunAsync(terminal: false, "models", "pull", _setup.File.Spec, "--json");

        Assert.Equal(0, result.ExitCode);
        Assert.All(result.Lines, line => Assert.True(s_events.Validate(line) is [], $"{line}: {string.Join("; ", s_events.Validate(line))}"));
        JsonElement[] retries = [.. result.Lines.Select(l => JsonDocument.Parse(l).RootElement).Where(e => e.GetProperty("type").GetString() == "retrying")];
        Assert.Equal([2, 3], retries.Select(r => r.GetProperty("attempt").GetInt32()));
        Assert.Contains("HTTP 503", retries[0].GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.Equal(_setup.File.Sha256, Sha256(Snapshot));
        Assert.Contains("attempt 2 in 0.001 s, after: HTTP 503", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pull_on_a_terminal_draws_a_bar_and_prints_the_model_path()
    {
        CliResult result = await RunAsync(terminal: true, "models", "pull", _setup.File.Spec);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(Snapshot + "\n", result.Text);
        Assert.Contains($"\r{FileName} [{new string('#', 24)}] 100% 2.1 MB / 2.1 MB", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain($"{FileName}: 100%", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pull_of_a_model_that_is_already_complete_says_so_without_a_request()
    {
        await RunAsync(terminal: false, "models", "pull", _setup.File.Spec);
        int requests = _setup.Hub.Requests.Count;
        _setup.Home.Variables["HF_HUB_OFFLINE"] = "1";

        CliResult result = await RunAsync(terminal: false, "models", "pull", _setup.File.Spec);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(Snapshot + "\n", result.Text);
        Assert.Contains("is already complete in the cache (2.1 MB)", result.Error, StringComparison.Ordinal);
        Assert.Equal(requests, _setup.Hub.Requests.Count);
    }

    [Fact]
    public async Task Pull_that_fails_exits_1_after_a_failed_event()
    {
        HostedFile lying = _setup.Hub.Add("test-org/lying-GGUF", "lie.gguf", FakeHub.RandomContent(5000, seed: 3), statedSha256: new string('0', 64));

        CliResult result = await RunAsync(terminal: false, "models", "pull", lying.Spec, "--json");

        Assert.Equal(1, result.ExitCode);
        JsonElement failed = JsonDocument.Parse(result.Lines[^1]).RootElement;
        Assert.Equal("failed", failed.GetProperty("type").GetString());
        Assert.Empty(s_events.Validate(result.Lines[^1]));
        Assert.Contains("but the server stated", failed.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Contains("fail Acp.GptOss.Models: test-org/lying-GGUF/lie.gguf: ", result.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("gpt-oss-9b")]
    [InlineData("just/two")]
    public async Task Pull_of_something_that_is_not_a_model_is_a_usage_error(string spec)
    {
        CliResult result = await RunAsync(terminal: false, "models", "pull", spec);

        Assert.Equal(2, result.ExitCode);
        Assert.Empty(result.Output);
        Assert.Contains("is not a model to pull", result.Error, StringComparison.Ordinal);
        Assert.Empty(_setup.Hub.Requests);
    }

    [Fact]
    public async Task List_shows_each_model_with_its_role_size_state_path_and_source()
    {
        string gptOss = TempHome.PlaceInHuggingFace(_setup.Home.HuggingFaceCache, "ggml-org/gpt-oss-20b-GGUF", "gpt-oss-20b-mxfp4.gguf", TempHome.GgufBytes());
        string capable = TempHome.WriteGguf(Path.Combine(_setup.Home.LmStudio, "openai", "gpt-oss-finetune", "ft.gguf"));
        string fast = TempHome.WriteGguf(Path.Combine(_setup.Home.LmStudio, "qwen", "small", "small.gguf"), "qwen3");
        string other = TempHome.WriteGguf(Path.Combine(_setup.Home.Home, "models", "llama.gguf"), "llama");
        string broken = Path.Combine(_setup.Home.Home, "models", "broken.gguf");
        File.WriteAllText(broken, "not a model at all, just some text long enough");
        string split = TempHome.WriteSplit(Path.Combine(_setup.Home.Home, "models", "big"), "big", 3, missing: 3);
        _setup.Home.WriteConfig($$"""{"fastModel": "{{fast}}"}""");

        CliResult result = await RunAsync(terminal: false, "models", "list");
        output.WriteLine(result.Text);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(
            [
                Line("fast", SizeOf(fast), "notLoaded", fast, "config"),
                Line("gpt-oss", SizeOf(gptOss), "notLoaded", gptOss, "huggingface"),
                Line("gpt-oss-capable", SizeOf(capable), "notLoaded", capable, "lmstudio"),
                Line("other", SizeOf(split, split.Replace("00001", "00002", StringComparison.Ordinal)), "incomplete", split, "~/models")
                    + "  (2 of 3 parts present; missing big-00003-of-00003.gguf)",
                Line("other", SizeOf(broken), "error: broken.gguf is not a GGUF file (it starts with 0x20746F6E, not \"GGUF\").", broken, "~/models"),
                Line("other", SizeOf(other), "notLoaded", other, "~/models"),
            ],
            result.Lines);

        CliResult json = await RunAsync(terminal: false, "models", "list", "--json", "--model", capable);

        JsonElement[] models = [.. json.Lines.Select(l => JsonDocument.Parse(l).RootElement)];
        JsonElement chosen = Assert.Single(models, m => m.GetProperty("role").GetString() == "gpt-oss");
        Assert.Equal(capable, chosen.GetProperty("path").GetString());
        Assert.Equal("--model", chosen.GetProperty("source").GetString());
        Assert.Equal("gpt-oss", chosen.GetProperty("architecture").GetString());
        Assert.Equal(new FileInfo(capable).Length, chosen.GetProperty("bytes").GetInt64());
        JsonElement incomplete = Assert.Single(models, m => m.GetProperty("state").GetString() == "incomplete");
        Assert.Equal(3, incomplete.GetProperty("parts").GetInt32());
        JsonElement error = Assert.Single(models, m => m.GetProperty("state").GetString() == "error");
        Assert.StartsWith("broken.gguf is not a GGUF file", error.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal("gpt-oss-capable", Assert.Single(models, m => m.GetProperty("path").GetString() == gptOss).GetProperty("role").GetString());
    }

    [Fact]
    public async Task List_with_a_malformed_config_file_lists_the_rest_names_the_file_and_exits_1()
    {
        string model = TempHome.WriteGguf(Path.Combine(_setup.Home.Home, "models", "m.gguf"));
        _setup.Home.WriteConfig("{ not json");

        CliResult result = await RunAsync(terminal: false, "models", "list");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains(model, Assert.Single(result.Lines), StringComparison.Ordinal);
        Assert.Contains($"The config file {Path.Combine(_setup.Home.ConfigDirectory, "config.json")} is not valid JSON", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task List_with_nothing_found_says_where_it_looked_and_how_to_get_a_model()
    {
        CliResult result = await RunAsync(terminal: false, "models", "list");

        Assert.Equal(0, result.ExitCode);
        Assert.Empty(result.Output);
        Assert.Contains($"No GGUF model found. Searched {_setup.Home.HuggingFaceCache}, ", result.Error, StringComparison.Ordinal);
        Assert.Contains("acp-gptoss models pull gpt-oss-20b", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_killed_pull_leaves_its_partial_file_and_the_next_run_resumes_it_to_an_identical_file()
    {
        _setup.Hub.Enqueue(new Fault(FaultKind.Stall, Size / 2));
        Dictionary<string, string> environment = _setup.ProcessEnvironment();

        long seen;
        await using (ChildProcess first = StartPull(environment, _setup.File.Spec, "--json"))
        {
            seen = await WaitForDownloadedAsync(first, Size * 2 / 5);
            first.Kill();
            Assert.Equal(137, (await first.WaitAsync()).ExitCode);
        }

        long kept = new FileInfo(Incomplete).Length;
        Assert.InRange(kept, seen, Size - 1);

        await using ChildProcess second = StartPull(environment, _setup.File.Spec, "--json");
        ProcessResult result = await second.WaitAsync();

        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Equal(_setup.File.Sha256, Sha256(Snapshot));
        Assert.Equal(kept, _setup.Hub.ContentRequests[1].RangeStart);
        JsonElement started = JsonDocument.Parse(result.Lines.First()).RootElement;
        Assert.Equal(kept, started.GetProperty("downloaded").GetInt64());
        output.WriteLine($"killed after {kept} of {Size} bytes; the second run fetched {Size - kept}; sha256 matches");
    }

    [Fact]
    public async Task Ctrl_C_stops_a_pull_keeps_the_partial_file_and_exits_130_saying_it_will_resume()
    {
        _setup.Hub.Enqueue(new Fault(FaultKind.Stall, Size / 2));
        Dictionary<string, string> environment = _setup.ProcessEnvironment();

        await using ChildProcess pull = StartPull(environment, _setup.File.Spec);
        await pull.WaitForErrorLineAsync(line => line.StartsWith($"{FileName}: ", StringComparison.Ordinal)
            && int.Parse(line.AsSpan(FileName.Length + 2, line.IndexOf('%', StringComparison.Ordinal) - FileName.Length - 2), CultureInfo.InvariantCulture) >= 45);
        await pull.InterruptAsync();
        ProcessResult result = await pull.WaitAsync();

        Assert.Equal(ModelsCommand.Interrupted, result.ExitCode);
        Assert.Contains($"downloaded so far are kept in {Incomplete}; run the same command again to resume.", result.Error, StringComparison.Ordinal);
        Assert.InRange(new FileInfo(Incomplete).Length, Size * 45L / 100, Size / 2);
        Assert.False(File.Exists(Snapshot));
    }

    private static string Line(string role, string size, string state, string path, string source) => $"{role,-15}  {size,8}  {state,-10}  {path}  {source}";

    // Read through, so a link counts as its target (FileInfo.Length of a link is the link's own length).
    private static string SizeOf(params string[] paths) => ByteSize.Format(paths.Sum(p => File.ReadAllBytes(p).LongLength));

    private static string Sha256(string path)
    {
        using FileStream stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    private async Task<CliResult> RunAsync(bool terminal, params string[] args)
    {
        using var stdout = new MemoryStream();
        using var stderr = new StringWriter();
        var streams = new StdioStreams(new MemoryStream(), stdout, stderr);
        using ILoggerFactory loggers = Logging.CreateFactory(stderr, LogLevel.Information);
        var setup = new ModelsCommandSetup(_setup.Home.Environment, new DownloadOptions { RetryDelay = TimeSpan.FromMilliseconds(1) }, terminal);
        var root = new RootCommand();
        root.Subcommands.Add(ModelsCommand.Create(streams, () => loggers, () => setup));

        // No signal handlers: this is the test host's process, not the command's.
        int exitCode = await root.Parse(args).InvokeAsync(new InvocationConfiguration { Output = stderr, Error = stderr, ProcessTerminationTimeout = null });
        return new CliResult(exitCode, stdout.ToArray(), stderr.ToString());
    }

    /// <summary>
    /// The built <c>acp-gptoss models pull</c> with <paramref name="arguments"/>, with SIGINT at its default as in a
    /// terminal: a test run started in the background ignores SIGINT, a child inherits that, and .NET keeps it ignored.
    /// </summary>
    private static ChildProcess StartPull(Dictionary<string, string> environment, params string[] arguments) =>
        ChildProcess.Start("env", ["--default-signal=INT", "dotnet", Support.Repository.Agent, "models", "pull", .. arguments], environment: environment);

    /// <summary>Waits for a JSON progress line with at least <paramref name="bytes"/> downloaded; returns how many.</summary>
    private static async Task<long> WaitForDownloadedAsync(ChildProcess pull, long bytes)
    {
        long downloaded = 0;
        await pull.WaitForLineAsync(line =>
        {
            JsonElement e = JsonDocument.Parse(line).RootElement;
            downloaded = e.GetProperty("type").GetString() == "progress" ? e.GetProperty("downloaded").GetInt64() : 0;
            return downloaded >= bytes;
        });
        return downloaded;
    }
}
