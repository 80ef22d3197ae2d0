using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;

namespace Acp.GptOss.Tests.Support;

/// <summary>
/// A real llama.cpp <c>llama-server</c> serving one GGUF on a loopback port, for the tests of the remote engine's
/// llama-server dialect. The binary is the one <c>tests/llama-server/build</c> builds from the llama.cpp source
/// node-llama-cpp ships and caches per machine; <c>./run-tests</c> runs that script and names its result in
/// <c>ACP_GPTOSS_LLAMA_SERVER</c>. Disposing kills the server.
/// </summary>
internal sealed partial class LlamaServer : IAsyncDisposable
{
    /// <summary>The variable that names the binary; when unset, the build script's cache path is used.</summary>
    public const string BinaryVariable = "ACP_GPTOSS_LLAMA_SERVER";

    private readonly ChildProcess _process;

    private LlamaServer(ChildProcess process, Uri baseAddress)
    {
        _process = process;
        BaseAddress = baseAddress;
    }

    /// <summary>The llama.cpp release the build script builds (tests/llama-server/llama-cpp-release).</summary>
    public static string Release { get; } = File.ReadAllText(Path.Combine(Repository.Root, "tests", "llama-server", "llama-cpp-release")).Trim();

    /// <summary>Where the binary is: <c>ACP_GPTOSS_LLAMA_SERVER</c>, else where the build script caches it.</summary>
    public static string Binary { get; } = Environment.GetEnvironmentVariable(BinaryVariable) is { Length: > 0 } named
        ? Path.GetFullPath(named)
        : Path.Combine(CacheHome(), "acp-gptoss", "llama-server", Release, "llama-server");

    /// <summary>Why there is no llama-server here, or null when there is one.</summary>
    public static string? Missing { get; } =
        File.Exists(Binary) ? null
        : !string.IsNullOrEmpty(Environment.GetEnvironmentVariable(BinaryVariable)) ? $"{BinaryVariable} names {Binary}, which does not exist."
        : $"llama-server {Release} is not built ({Binary} does not exist): tests/llama-server/build builds it (./run-tests runs it and says why it failed).";

    /// <summary>
    /// Why a test that needs llama-server and generated models is skipped, or null when it runs. Under CI (<c>CI</c>
    /// set) a missing llama-server is no reason: it means the build failed, and CI must not pass without these tests.
    /// </summary>
    public static string? SkipReason { get; } =
        TestModels.Missing ?? (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI")) ? Missing : null);

    /// <summary>The server's root, <c>http://127.0.0.1:PORT/</c>.</summary>
    public Uri BaseAddress { get; }

    /// <summary>What the server logged so far (its stderr), for a failing test to print.</summary>
    public string Log => _process.Error;

    /// <summary>
    /// Starts llama-server with <paramref name="model"/> on a port of its choosing and returns once it has loaded the
    /// model and answers <c>GET /health</c> with 200.
    /// </summary>
    /// <param name="model">The GGUF to serve.</param>
    /// <param name="contextSize">The whole KV cache (<c>-c</c>), shared by the slots.</param>
    /// <param name="parallel">Slots (<c>--parallel</c>): requests served at once.</param>
    /// <param name="arguments">More command-line arguments.</param>
    public static async Task<LlamaServer> StartAsync(string model, int contextSize = 1024, int parallel = 1, IEnumerable<string>? arguments = null)
    {
        if (Missing is not null)
        {
            throw new InvalidOperationException($"{Missing} Under CI this fails rather than skips: the llama-server build must succeed.");
        }

        // Port 0: the server binds a free port itself (no race with another test) and logs it once the model is
        // loaded, which is the readiness signal. CPU only (-ngl 0), two threads as the machine has, no web UI, no
        // warm-up run; /slots and /metrics on, for the tests to see what the slots do.
        string[] command =
        [
            "-m", model, "--host", "127.0.0.1", "--port", "0",
            "-c", contextSize.ToString(CultureInfo.InvariantCulture), "--parallel", parallel.ToString(CultureInfo.InvariantCulture),
            "-t", "2", "-ngl", "0", "--no-webui", "--no-warmup", "--slots", "--metrics", .. arguments ?? [],
        ];
        ChildProcess process = ChildProcess.Start(Binary, command);
        try
        {
            string line = await process.WaitForErrorLineAsync(l => ListeningLine().IsMatch(l));
            var baseAddress = new Uri(ListeningLine().Match(line).Groups["address"].Value + "/");
            var server = new LlamaServer(process, baseAddress);
            using var client = new HttpClient { BaseAddress = baseAddress };
            using HttpResponseMessage health = await client.GetAsync(new Uri("health", UriKind.Relative));
            if (health.StatusCode != HttpStatusCode.OK)
            {
                throw new InvalidOperationException($"llama-server said it listens on {baseAddress}, but GET /health answered {(int)health.StatusCode}. Its log:\n{process.Error}");
            }

            return server;
        }
        catch
        {
            await process.DisposeAsync();
            throw;
        }
    }

    public ValueTask DisposeAsync() => _process.DisposeAsync();

    private static string CacheHome() => Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } cache
        ? cache
        : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");

    [GeneratedRegex(@"listening on (?<address>http://127\.0\.0\.1:\d+)")]
    private static partial Regex ListeningLine();
}

/// <summary>
/// A fact that needs llama-server and generated models; skipped, with the reason, when either is missing, except
/// under CI, where a missing llama-server fails the test.
/// </summary>
internal sealed class LlamaServerFactAttribute : FactAttribute
{
    public LlamaServerFactAttribute()
    {
        Skip = LlamaServer.SkipReason;
    }
}

/// <summary>A theory that needs llama-server and generated models; skipped as <see cref="LlamaServerFactAttribute"/> says.</summary>
internal sealed class LlamaServerTheoryAttribute : TheoryAttribute
{
    public LlamaServerTheoryAttribute()
    {
        Skip = LlamaServer.SkipReason;
    }
}
