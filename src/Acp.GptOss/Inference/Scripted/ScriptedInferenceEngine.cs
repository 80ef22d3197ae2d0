using System.Runtime.CompilerServices;
using System.Text;
using Harmony;
using Microsoft.Extensions.Logging;

namespace Acp.GptOss.Inference.Scripted;

/// <summary>
/// A scripted model for tests and demos. The script is a file whose content is the completion of every sampling
/// round, or a folder of <c>1.txt</c>, <c>2.txt</c>, ... used in order, one per round of a session (the last one
/// repeats). Completions use literal special-token spellings, one UTF-8 byte per ordinary token.
/// </summary>
internal sealed partial class ScriptedInferenceEngine : IInferenceEngine
{
    private readonly string _script;
    private readonly bool _isFolder;
    private readonly TimeSpan _tokenDelay;
    private readonly string? _promptLog;
    private readonly ILogger _logger;
    private readonly Lock _promptLogGate = new();

    private ScriptedInferenceEngine(string script, bool isFolder, TimeSpan tokenDelay, string? promptLog, int contextSize, ILogger logger)
    {
        _script = script;
        _isFolder = isFolder;
        _tokenDelay = tokenDelay;
        _promptLog = promptLog;
        ContextSize = contextSize;
        _logger = logger;
    }

    public string Description => $"scripted ({_script})";

    private int ContextSize { get; }

    /// <summary>Checks the script and creates the engine.</summary>
    /// <exception cref="ArgumentException">The script is neither a readable file nor a folder with <c>1.txt</c>.</exception>
    public static ScriptedInferenceEngine Create(string script, TimeSpan tokenDelay, string? promptLog, int contextSize, ILogger logger)
    {
        string path = Path.GetFullPath(script);
        if (Directory.Exists(path))
        {
            return File.Exists(Path.Combine(path, "1.txt"))
                ? new ScriptedInferenceEngine(path, isFolder: true, tokenDelay, promptLog, contextSize, logger)
                : throw new ArgumentException($"The script folder {path} has no 1.txt.", nameof(script));
        }

        return File.Exists(path)
            ? new ScriptedInferenceEngine(path, isFolder: false, tokenDelay, promptLog, contextSize, logger)
            : throw new ArgumentException($"The script {path} does not exist.", nameof(script));
    }

    public ValueTask<IInferenceSession> CreateSessionAsync(CancellationToken cancellationToken) =>
        ValueTask.FromResult<IInferenceSession>(new Session(this));

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private async Task<int[]> ReadCompletionAsync(int round, CancellationToken cancellationToken)
    {
        string path = _script;
        if (_isFolder)
        {
            // Round N plays N.txt; past the last file, the last one repeats.
            int last = round;
            while (last > 1 && !File.Exists(Path.Combine(_script, $"{last}.txt")))
            {
                last--;
            }

            path = Path.Combine(_script, $"{last}.txt");
        }

        byte[] content = await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false);
        var tokens = new List<int>(content.Length);
        HarmonyLiteralText.Tokenize(content, O200kByteTokenizer.Instance, tokens);
        LogRound(_logger, round, path, tokens.Count);
        return [.. tokens];
    }

    private void RecordPrompt(int round, ReadOnlyMemory<int> prompt)
    {
        if (_promptLog is null)
        {
            return;
        }

        string text = $"--- prompt {round} ---\n{HarmonyLiteralText.Render(prompt.Span, O200kByteTokenizer.Instance)}\n";
        lock (_promptLogGate)
        {
            File.AppendAllText(_promptLog, text, Encoding.UTF8);
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Scripted round {Round}: {Path}, {Tokens} tokens")]
    private static partial void LogRound(ILogger logger, int round, string path, int tokens);

    private sealed class Session(ScriptedInferenceEngine engine) : IInferenceSession
    {
        private int _round;

        public IHarmonyTokenizer Tokenizer => O200kByteTokenizer.Instance;

        public int ContextSize => engine.ContextSize;

        public async IAsyncEnumerable<int> GenerateAsync(
            ReadOnlyMemory<int> prompt, GenerationOptions options, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            int round = Interlocked.Increment(ref _round);
            engine.RecordPrompt(round, prompt);
            int[] completion = await engine.ReadCompletionAsync(round, cancellationToken).ConfigureAwait(false);
            int budget = Math.Min(options.MaxTokens, engine.ContextSize - prompt.Length);
            for (int i = 0; i < completion.Length && i < budget; i++)
            {
                if (engine._tokenDelay > TimeSpan.Zero)
                {
                    await Task.Delay(engine._tokenDelay, cancellationToken).ConfigureAwait(false);
                }

                cancellationToken.ThrowIfCancellationRequested();
                yield return completion[i];
                if (options.StopTokens.Span.Contains(completion[i]))
                {
                    yield break;
                }
            }
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
