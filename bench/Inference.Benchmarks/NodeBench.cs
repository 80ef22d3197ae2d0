using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Harmony;
using Harmony.Rendering;

namespace Inference.Benchmarks;

/// <summary>node-llama-cpp 3.22.1, the same llama.cpp release, decoding the same file with the same settings.</summary>
internal static class NodeBench
{
    public static async Task<DecodeResult> DecodeAsync(BenchModel model, BenchSettings settings)
    {
        // The same prompt the engine alone decodes, in literal spellings that node-llama-cpp tokenizes as specials.
        string promptFile = Path.Combine(BenchSettings.OutputDirectory, "node-prompt.txt");
        await File.WriteAllTextAsync(promptFile, new HarmonyEncoding(O200kByteTokenizer.Instance).RenderForCompletionText(BenchModel.Conversation(BenchModel.Question)));
        using Process node = NodePackages.StartScript(
            "node-llama-cpp-bench.mjs", model.Path, promptFile,
            "--threads", Text(settings.Threads), "--tokens", Text(settings.Tokens), "--context", Text(settings.ContextSize),
            "--repetitions", Text(settings.Repetitions + 1));
        Task<string> errors = node.StandardError.ReadToEndAsync();
        string output = await node.StandardOutput.ReadToEndAsync();
        await node.WaitForExitAsync();
        if (node.ExitCode != 0)
        {
            throw new InvalidOperationException($"node-llama-cpp-bench.mjs failed ({node.ExitCode}): {await errors}");
        }

        DecodeRun[] runs = [.. output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(line =>
        {
            using JsonDocument document = JsonDocument.Parse(line);
            JsonElement run = document.RootElement;
            return new DecodeRun(run.GetProperty("promptTokens").GetInt32(), run.GetProperty("generated").GetInt32(),
                run.GetProperty("timeToFirstTokenMs").GetDouble(), run.GetProperty("decodeTokensPerSecond").GetDouble(), null);
        })];
        return new DecodeResult("node-llama-cpp 3.22.1", "first token", runs);
    }

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);
}
